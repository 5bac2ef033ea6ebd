import './helpers/guard.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Client, createDoc, getDoc } from './helpers/docs.js';
import { corpusFile, sentenceFor } from './helpers/files.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';
import { IngestClient } from './ingest.helpers.js';
import { describePostgres, dropSchema, freshSchema } from './storage.pgserver.js';

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

/**
 * Whole runtimes on PostgreSQL storage, each with its OWN data dir: what one
 * instance accepted (upload bytes, chunks, a document) another instance with an
 * empty DATA_DIR serves and processes, through nothing but the database.
 */
await describePostgres('runtime on postgres storage: no shared DATA_DIR', (url) => {
  const schema = freshSchema();
  const dirs = { a: mkdtempSync(join(tmpdir(), 'swy-pg-a-')), b: mkdtempSync(join(tmpdir(), 'swy-pg-b-')) };
  const overrides = (dataDir: string, uploadRetention = 'keep') => ({
    dataDir,
    databaseUrl: url,
    storage: 'postgres',
    postgres: { poolSize: 3, efSearch: 100, schema },
    threadPoolSize: 1,
    ingest: { embedding: { provider: 'hash' }, uploadRetention },
    docs: { persistDebounceMs: 50, persistMaxWaitMs: 200 },
  });
  let a: TestRuntime;
  let b: TestRuntime;
  before(async () => {
    a = await startRuntime(overrides(dirs.a));
    b = await startRuntime(overrides(dirs.b));
  });
  after(async () => {
    await Promise.allSettled([a.runtime.stop(), b.runtime.stop()]);
    await dropSchema(schema);
  });

  let fileId = '';
  let uploaded: Uint8Array;

  it('an upload on A keeps its bytes in PostgreSQL, not in A\'s DATA_DIR, and finishes', async () => {
    assert.equal(a.runtime.storage.kind, 'postgres');
    const alice = await IngestClient.of(a.runtime, 'alice');
    const file = await corpusFile(3);
    uploaded = file.bytes;
    const res = await alice.upload(file, 'kb');
    assert.equal(res.status, 202, JSON.stringify(res.body));
    fileId = res.body.id;
    const rec = await alice.waitStatus(fileId, ['finished', 'failed'], 60_000);
    assert.equal(rec.status, 'finished', rec.error);
    assert.ok(rec.chunks > 0);
    const uploadsDir = join(dirs.a, 'uploads');
    assert.ok(!existsSync(uploadsDir) || readdirSync(uploadsDir).length === 0, 'nothing written under A\'s DATA_DIR/uploads');
    assert.ok((await readAll(await b.runtime.storage.uploads.open(fileId))).equals(Buffer.from(uploaded)), 'B reads the exact bytes from the database');
  });

  it('B, with an empty DATA_DIR, answers retrieval over what A ingested', async () => {
    const alice = await IngestClient.of(b.runtime, 'alice');
    const hits = await alice.query('kb', sentenceFor(3), 3);
    assert.equal(hits.status, 200, JSON.stringify(hits.body));
    assert.equal(hits.body[0].file_id, fileId);
    const bob = await IngestClient.of(b.runtime, 'bob');
    assert.deepEqual((await bob.query('kb', sentenceFor(3), 3)).body, [], 'scoped by owner inside SQL');
  });

  it('a document edited on A is served by B after A stops', async () => {
    const created = await createDoc(a.runtime, 'alice', { id: 'pg-doc', access: { read: ['*'], write: [] } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const client = await Client.open(a.runtime.port, 'pg-doc', 'alice');
    client.text.insert(0, 'written on A');
    await waitFor(async () => ((await b.runtime.storage.documents.get('pg-doc'))?.sizeBytes ?? 0) > 0, { what: 'the save to reach the database', timeoutMs: 10_000 });
    client.destroy();
    await a.runtime.stop();
    const get = await getDoc(b.runtime, 'alice');
    const res = await get('pg-doc');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.text.body, 'written on A');
  });

  it('B re-runs A\'s job from the bytes in the database, then deleting on B removes the bytes', async () => {
    const before = await b.runtime.storage.files.getFile(fileId);
    await b.runtime.storage.files.updateFile(fileId, { status: 'queued', progress: 0 });
    await b.runtime.ingest.service.reconcile();
    const alice = await IngestClient.of(b.runtime, 'alice');
    const rec = await alice.waitStatus(fileId, ['finished', 'failed'], 60_000);
    assert.equal(rec.status, 'finished', rec.error);
    assert.equal(rec.chunks, before!.chunks, 'the same chunks as the first run');
    assert.equal(await b.runtime.storage.files.countChunks(fileId), before!.chunks, 'replaced, not added');
    const del = await alice.request('DELETE', `/api/files/${fileId}`);
    assert.ok(del.status === 200 || del.status === 204, JSON.stringify(del));
    await assert.rejects(b.runtime.storage.uploads.open(fileId), { code: 'SWY_NOT_FOUND' });
    assert.equal(await b.runtime.storage.files.countChunks(fileId), 0);
  });

  it('with uploadRetention delete-when-finished the bytes go once the job finished; the chunks stay', async () => {
    const c = await startRuntime(overrides(mkdtempSync(join(tmpdir(), 'swy-pg-c-')), 'delete-when-finished'));
    try {
      const alice = await IngestClient.of(c.runtime, 'alice');
      const res = await alice.upload(await corpusFile(7), 'kb-ret');
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const rec = await alice.waitStatus(res.body.id, ['finished', 'failed'], 60_000);
      assert.equal(rec.status, 'finished', rec.error);
      await waitFor(async () => c.runtime.storage.uploads.open(res.body.id).then(() => false, (err) => err.code === 'SWY_NOT_FOUND'), { what: 'the bytes to be deleted' });
      assert.equal(await c.runtime.storage.files.countChunks(res.body.id), rec.chunks);
    } finally {
      await c.runtime.stop();
    }
  });
});
