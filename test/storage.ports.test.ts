import './helpers/guard.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/observability/logger.js';
import { DATABASE_FILE, openSqliteStorage, StorageError, type SqliteStorage } from '../src/storage/index.js';

/** Every DocumentStore / FileStore method against a real database file in its thread. */
describe('sqlite storage: ports', () => {
  let dir: string;
  let storage: SqliteStorage;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swy-storage-'));
    storage = await openSqliteStorage({ dataDir: join(dir, 'nested'), logger: silentLogger() });
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates <dataDir>/switchyard.db (the directory too)', () => {
    assert.ok(existsSync(join(dir, 'nested', DATABASE_FILE)));
  });

  it('documents: create, get, conflict on a duplicate id', async () => {
    const access = { read: ['*'], write: ['bob'] };
    const rec = await storage.documents.create({ id: 'doc-1', owner: 'alice', access });
    assert.equal(rec.id, 'doc-1');
    assert.equal(rec.owner, 'alice');
    assert.deepEqual(rec.access, access);
    assert.equal(rec.sizeBytes, 0);
    assert.ok(rec.createdAt > 0 && rec.updatedAt === rec.createdAt);
    assert.deepEqual(await storage.documents.get('doc-1'), rec);
    assert.equal(await storage.documents.get('nope'), null);
    await assert.rejects(storage.documents.create({ id: 'doc-1', owner: 'eve', access }), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, 'SWY_CONFLICT');
      return true;
    });
    assert.equal((await storage.documents.get('doc-1'))?.owner, 'alice', 'the conflicting create changed nothing');
  });

  it('documents: state is null until saved, then the exact bytes; size and updatedAt follow', async () => {
    await storage.documents.create({ id: 'doc-2', owner: 'alice', access: { read: [], write: [] } });
    assert.equal(await storage.documents.loadState('doc-2'), null);
    const state = new Uint8Array([0, 1, 2, 250, 255, 7]);
    await storage.documents.saveState('doc-2', state);
    assert.deepEqual(await storage.documents.loadState('doc-2'), state);
    const rec = await storage.documents.get('doc-2');
    assert.equal(rec?.sizeBytes, state.byteLength);
    // A view into a larger buffer stores only its own bytes.
    const big = new Uint8Array([9, 9, 4, 5, 6, 9]);
    await storage.documents.saveState('doc-2', big.subarray(2, 5));
    assert.deepEqual(await storage.documents.loadState('doc-2'), new Uint8Array([4, 5, 6]));
    assert.equal(await storage.documents.loadState('missing'), null);
  });

  it('documents: saving a missing document is NOT_FOUND; delete removes it', async () => {
    await assert.rejects(storage.documents.saveState('ghost', new Uint8Array([1])), { code: 'SWY_NOT_FOUND' });
    await storage.documents.create({ id: 'doc-3', owner: 'a', access: { read: [], write: [] } });
    await storage.documents.delete('doc-3');
    assert.equal(await storage.documents.get('doc-3'), null);
    await storage.documents.delete('doc-3'); // idempotent
  });

  const newFile = (id: string, extra: Partial<{ ownerId: string; collection: string }> = {}) => ({
    id,
    ownerId: extra.ownerId ?? 'alice',
    name: `${id}.txt`,
    contentType: 'text/plain',
    collection: extra.collection ?? 'kb',
    sizeBytes: 42,
    path: `uploads/${id}`,
  });

  it('files: create starts queued; get; conflict on a duplicate id', async () => {
    const rec = await storage.files.createFile(newFile('f-1'));
    assert.equal(rec.status, 'queued');
    assert.equal(rec.progress, 0);
    assert.equal(rec.chunks, 0);
    assert.equal(rec.error, null);
    assert.equal(rec.attempts, 0);
    assert.equal(rec.path, 'uploads/f-1');
    assert.deepEqual(await storage.files.getFile('f-1'), rec);
    assert.equal(await storage.files.getFile('nope'), null);
    await assert.rejects(storage.files.createFile(newFile('f-1')), { code: 'SWY_CONFLICT' });
  });

  it('files: updateFile patches only the given fields; unknown fields and statuses are refused', async () => {
    await storage.files.createFile(newFile('f-2'));
    const started = await storage.files.updateFile('f-2', { status: 'started', attempts: 1, progress: 0.25 });
    assert.equal(started?.status, 'started');
    assert.equal(started?.attempts, 1);
    assert.equal(started?.progress, 0.25);
    const failed = await storage.files.updateFile('f-2', { status: 'failed', error: 'boom' });
    assert.equal(failed?.error, 'boom');
    assert.equal(failed?.attempts, 1, 'untouched fields keep their value');
    const cleared = await storage.files.updateFile('f-2', { error: null, status: 'finished', chunks: 3, progress: 1 });
    assert.equal(cleared?.error, null);
    assert.equal(cleared?.chunks, 3);
    assert.equal(await storage.files.updateFile('ghost', { status: 'started' }), null);
    await assert.rejects(storage.files.updateFile('f-2', { status: 'weird' as 'queued' }), { code: 'SWY_BAD_REQUEST' });
    await assert.rejects(storage.files.updateFile('f-2', { name: 'x' } as never), { code: 'SWY_BAD_REQUEST' });
  });

  it('files: listByStatus returns exactly the files in those states', async () => {
    await storage.files.createFile(newFile('f-3'));
    await storage.files.createFile(newFile('f-4'));
    await storage.files.updateFile('f-4', { status: 'deferred' });
    const ids = async (...s: Parameters<typeof storage.files.listByStatus>[0][number][]) =>
      (await storage.files.listByStatus(s)).map((f) => f.id).sort();
    assert.deepEqual(await ids('queued'), ['f-1', 'f-3']);
    assert.deepEqual(await ids('queued', 'deferred'), ['f-1', 'f-3', 'f-4']);
    assert.deepEqual(await ids('finished'), ['f-2']);
    assert.deepEqual(await storage.files.listByStatus([]), []);
  });

  it('files: deleteFile removes the record, its chunks and its vectors', async () => {
    const file = await storage.files.createFile(newFile('f-del'));
    const model = { name: 'test/del/2', dimensions: 2 };
    await storage.files.replaceChunks(file.id, [0, 1, 2].map((i) => ({ index: i, text: `t${i}`, metadata: {}, embedding: new Float32Array([1, i]) })), model);
    assert.equal(await storage.files.countChunks(file.id), 3);
    await storage.files.deleteFile(file.id);
    assert.equal(await storage.files.getFile(file.id), null);
    assert.equal(await storage.files.countChunks(file.id), 0);
    const hits = await storage.files.query({ collection: 'kb', ownerId: null, embedding: new Float32Array([1, 0]), k: 10, model: model.name });
    assert.deepEqual(hits, [], 'no vector of the deleted file is left');
    await storage.files.deleteFile(file.id); // idempotent
  });

  it('calls after close reject with STORAGE_UNAVAILABLE', async () => {
    const other = await openSqliteStorage({ dataDir: join(dir, 'closing'), logger: silentLogger() });
    await other.close();
    await assert.rejects(other.documents.get('x'), { code: 'SWY_STORAGE_UNAVAILABLE' });
    await other.close(); // idempotent
  });
});
