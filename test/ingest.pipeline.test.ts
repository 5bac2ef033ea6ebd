import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { corpusFile, corruptPdf, sentenceFor, TYPES } from './helpers/files.js';
import { TestClient } from './helpers/gateway.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { IngestClient } from './ingest.helpers.js';

/** Upload → finished → retrieval with real PDF/DOCX/HTML/MD/TXT files and the lexical `hash` provider. */
describe('ingestion pipeline (hash provider)', () => {
  let t: TestRuntime;
  let alice: IngestClient;
  let bob: IngestClient;
  before(async () => {
    t = await startRuntime({
      threadPoolSize: 2,
      ingest: { embedding: { provider: 'hash', batchSize: 16 }, chunkTokens: 64, chunkOverlapTokens: 8, retryBaseMs: 50 },
    });
    alice = await IngestClient.of(t.runtime, 'alice');
    bob = await IngestClient.of(t.runtime, 'bob');
  });
  after(() => t.runtime.stop());

  it('extracts, chunks and embeds every type; a query for a sentence returns its file first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await alice.upload(await corpusFile(i), 'notes');
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.status, 'queued');
      ids.push(res.body.id);
    }
    for (const id of ids) {
      const rec = await alice.waitStatus(id, ['finished', 'failed']);
      assert.equal(rec.status, 'finished', `${rec.name}: ${rec.error}`);
      assert.ok(rec.chunks >= 2, `${rec.name} has ${rec.chunks} chunks`);
      assert.equal(rec.progress, 1);
      assert.equal(rec.attempts, 1);
    }
    for (let i = 0; i < 5; i++) {
      const { status, body } = await alice.query('notes', sentenceFor(i), 3);
      assert.equal(status, 200);
      assert.equal(body[0].file_id, ids[i], `query ${i} returned ${JSON.stringify(body.map((h: any) => h.file_id))}`);
      assert.ok(body[0].text.includes(`keeper number ${i} `));
      assert.ok(body[0].score > body[body.length - 1].score || body.length === 1);
    }
    // Page / heading metadata survive chunking.
    const pdfHit = (await alice.query('notes', sentenceFor(0), 1)).body[0];
    assert.equal(pdfHit.metadata.page, 3);
    const mdHit = (await alice.query('notes', sentenceFor(3), 1)).body[0];
    assert.equal(mdHit.metadata.heading, 'Section 2');
  });

  it('accepts multipart uploads, pushes file:status to the owner, and scopes queries to the owner', async () => {
    const socket = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${alice.token}` });
    try {
      const res = await alice.uploadMultipart(await corpusFile(7), 'mp');
      assert.equal(res.status, 202);
      const id = res.body.id as string;
      await socket.waitFor((f) => f.event === 'file:status' && f.data.file_id === id && f.data.status === 'finished', 'finished event', 15_000);
      const statuses = socket.events('file:status').filter((f) => f.data.file_id === id).map((f) => f.data.status);
      assert.equal(statuses[0], 'started');
      assert.equal((await bob.file(id)).status, 404, 'another user cannot see the file');
      assert.deepEqual((await bob.query('mp', sentenceFor(7))).body, [], "another user's query finds none of alice's chunks");
      assert.equal((await alice.query('mp', sentenceFor(7))).body[0].file_id, id);
    } finally {
      socket.terminate();
    }
  });

  it('fails a corrupt PDF once with a clear error and no retry', async () => {
    const res = await alice.upload(corruptPdf());
    const rec = await alice.waitStatus(res.body.id, ['failed', 'finished']);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error, /^SWY_FILE_CORRUPT: broken\.pdf is not a readable PDF/);
    assert.equal(rec.attempts, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await alice.file(res.body.id)).body.attempts, 1, 'never retried');
  });

  it('fails mislabelled files permanently and refuses unsupported types and empty bodies up front', async () => {
    const docx = await corpusFile(1);
    const asPdf = await alice.upload({ name: 'fake.pdf', contentType: TYPES.pdf, bytes: docx.bytes });
    const rec = await alice.waitStatus(asPdf.body.id, ['failed', 'finished']);
    assert.match(rec.error, /SWY_FILE_CORRUPT: fake\.pdf is labelled as a PDF but its bytes are not \(it is a zip\/DOCX\)/);
    const binaryAsText = await alice.upload({ name: 'x.txt', contentType: TYPES.txt, bytes: new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x80]) });
    assert.match((await alice.waitStatus(binaryAsText.body.id, ['failed'])).error, /SWY_FILE_CORRUPT/);
    const exe = await alice.upload({ name: 'tool.exe', contentType: 'application/octet-stream', bytes: Buffer.from('MZ') });
    assert.equal(exe.status, 415);
    assert.equal(exe.body.error.code, 'SWY_FILE_UNSUPPORTED');
    const empty = await alice.upload({ name: 'e.txt', contentType: TYPES.txt, bytes: new Uint8Array() });
    assert.equal(empty.status, 400);
    const noName = await alice.request('POST', '/api/files', Buffer.from('hi'), { 'content-type': 'text/plain' });
    assert.equal(noName.status, 400);
  });

  it('delete removes the file, its chunks and vectors', async () => {
    const res = await alice.upload(await corpusFile(9), 'del');
    await alice.waitStatus(res.body.id, ['finished']);
    assert.equal((await alice.query('del', sentenceFor(9))).body.length > 0, true);
    assert.equal((await bob.request('DELETE', `/api/files/${res.body.id}`)).status, 404, 'only the owner (or an admin) may delete');
    const del = await alice.request('DELETE', `/api/files/${res.body.id}`);
    assert.equal(del.status, 200);
    assert.equal((await alice.file(res.body.id)).status, 404);
    assert.deepEqual((await alice.query('del', sentenceFor(9))).body, []);
  });

  it('validates query bodies', async () => {
    assert.equal((await alice.request('POST', '/api/retrieval/query', { collection: 'x' })).status, 400);
    assert.equal((await alice.request('POST', '/api/retrieval/query', { collection: 'x', query: 'q', k: 0 })).status, 400);
    assert.equal((await alice.request('POST', '/api/retrieval/query', 'nope')).status, 400);
  });
});
