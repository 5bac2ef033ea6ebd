import './helpers/guard.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/observability/logger.js';
import { openSqliteStorage, type ChunkInput, type SqliteStorage } from '../src/storage/index.js';

const MODEL = { name: 'test/unit/3', dimensions: 3 };
const chunk = (index: number, embedding: number[], text = `chunk ${index}`): ChunkInput => ({
  index,
  text,
  metadata: { page: index + 1 },
  embedding: new Float32Array(embedding),
});

/** Chunks and vectors: atomic replace, no duplicates, ranking and scoping of queries. */
describe('sqlite storage: chunks and vectors', () => {
  let dir: string;
  let storage: SqliteStorage;
  const q = (embedding: number[], extra: Partial<{ collection: string; ownerId: string | null; k: number; model: string }> = {}) =>
    storage.files.query({ collection: 'kb', ownerId: null, k: 10, model: MODEL.name, embedding: new Float32Array(embedding), ...extra });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swy-vectors-'));
    storage = await openSqliteStorage({ dataDir: dir, logger: silentLogger() });
    const file = (id: string, ownerId: string, collection: string) =>
      storage.files.createFile({ id, ownerId, collection, name: id, contentType: 'text/plain', sizeBytes: 1, path: id });
    await file('a', 'alice', 'kb');
    await file('b', 'bob', 'kb');
    await file('c', 'alice', 'other');
    await file('big', 'alice', 'kb-big');
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('query ranks by cosine similarity (higher = closer) and returns text and metadata', async () => {
    await storage.files.replaceChunks('a', [chunk(0, [1, 0, 0]), chunk(1, [0, 1, 0]), chunk(2, [1, 1, 0])], MODEL);
    const hits = await q([1, 0.1, 0]);
    assert.deepEqual(hits.map((h) => h.chunk), [0, 2, 1]);
    assert.ok(Math.abs(hits[0]!.score - 0.995037) < 1e-4, `cos([1,.1,0],[1,0,0]) = ${hits[0]!.score}`);
    assert.ok(Math.abs(hits[1]!.score - 0.773957) < 1e-4);
    assert.ok(Math.abs(hits[2]!.score - 0.099504) < 1e-4);
    assert.deepEqual({ ...hits[0], score: 0 }, { fileId: 'a', chunk: 0, text: 'chunk 0', score: 0, metadata: { page: 1 } });
    assert.deepEqual((await q([1, 0.1, 0], { k: 1 })).map((h) => h.chunk), [0], 'k bounds the hits');
  });

  it('query is scoped by owner (null = admin sees all) and by collection', async () => {
    await storage.files.replaceChunks('b', [chunk(0, [1, 0, 0], 'bob says')], MODEL);
    await storage.files.replaceChunks('c', [chunk(0, [1, 0, 0], 'other collection')], MODEL);
    const all = await q([1, 0, 0]);
    assert.deepEqual(all.map((h) => h.fileId).sort(), ['a', 'a', 'a', 'b']);
    const alice = await q([1, 0, 0], { ownerId: 'alice' });
    assert.deepEqual([...new Set(alice.map((h) => h.fileId))], ['a']);
    const bob = await q([1, 0, 0], { ownerId: 'bob' });
    assert.deepEqual(bob.map((h) => h.text), ['bob says']);
    assert.deepEqual((await q([1, 0, 0], { collection: 'other' })).map((h) => h.text), ['other collection']);
    assert.deepEqual(await q([1, 0, 0], { ownerId: 'nobody' }), []);
    assert.deepEqual(await q([1, 0, 0], { model: 'never/used' }), [], 'an unknown model has no vectors');
  });

  it('replaceChunks replaces: a retried job leaves exactly one copy of each chunk', async () => {
    const chunks = [chunk(0, [0, 0, 1]), chunk(1, [0, 1, 1])];
    await storage.files.replaceChunks('b', chunks, MODEL);
    await storage.files.replaceChunks('b', chunks, MODEL);
    await Promise.all([storage.files.replaceChunks('b', chunks, MODEL), storage.files.replaceChunks('b', chunks, MODEL)]);
    assert.equal(await storage.files.countChunks('b'), 2);
    const hits = await q([0, 0, 1], { ownerId: 'bob' });
    assert.deepEqual(hits.map((h) => h.chunk), [0, 1], 'no duplicate vectors either');
    // Fewer chunks on the retry: the extra old ones are gone.
    await storage.files.replaceChunks('b', [chunk(0, [0, 0, 1])], MODEL);
    assert.equal(await storage.files.countChunks('b'), 1);
    assert.equal((await q([0, 0, 1], { ownerId: 'bob' })).length, 1);
  });

  it('replaceChunks is all or nothing: a bad chunk midway leaves the old chunks and vectors intact', async () => {
    const before = await q([1, 0.1, 0], { ownerId: 'alice' });
    const bad = [chunk(0, [0, 0, 1], 'new 0'), chunk(1, [0, 0, 1], 'new 1'), chunk(2, [1, 2, 3, 4], 'wrong dims'), chunk(3, [0, 0, 1])];
    await assert.rejects(storage.files.replaceChunks('a', bad, MODEL), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SWY_STORAGE_FAILED');
      assert.match((err as Error).message, /chunk 2 .* 4 dimensions/);
      return true;
    });
    assert.equal(await storage.files.countChunks('a'), 3);
    assert.deepEqual(await q([1, 0.1, 0], { ownerId: 'alice' }), before);
    // Duplicate indexes in one call violate (file, idx): also rolled back whole.
    await assert.rejects(storage.files.replaceChunks('a', [chunk(0, [0, 0, 1]), chunk(0, [0, 0, 1])], MODEL), { code: 'SWY_STORAGE_FAILED' });
    assert.deepEqual(await q([1, 0.1, 0], { ownerId: 'alice' }), before);
  });

  it('a model keeps its dimensions; queries with other dimensions are refused', async () => {
    await assert.rejects(storage.files.replaceChunks('c', [chunk(0, [1, 0])], { name: MODEL.name, dimensions: 2 }), /stored with 3 dimensions/);
    await assert.rejects(q([1, 0]), { code: 'SWY_BAD_REQUEST' });
    await assert.rejects(q([1, 0, 0], { k: 0 }), { code: 'SWY_BAD_REQUEST' });
    await assert.rejects(storage.files.replaceChunks('ghost', [chunk(0, [1, 0, 0])], MODEL), { code: 'SWY_NOT_FOUND' });
  });

  it('models of different dimensions live side by side', async () => {
    const wide = { name: 'test/wide/512', dimensions: 512 };
    const v = (hot: number) => {
      const a = new Float32Array(512);
      a[hot] = 1;
      return a;
    };
    await storage.files.replaceChunks('big', [5, 9, 300].map((hot, i) => ({ index: i, text: `hot ${hot}`, metadata: {}, embedding: v(hot) })), wide);
    const hits = await storage.files.query({ collection: 'kb-big', ownerId: 'alice', embedding: v(9), k: 3, model: wide.name });
    assert.equal(hits[0]!.text, 'hot 9');
    assert.ok(Math.abs(hits[0]!.score - 1) < 1e-6);
    assert.equal((await q([1, 0.1, 0], { ownerId: 'alice' })).length, 3, 'the 3-d space is untouched');
  });
});
