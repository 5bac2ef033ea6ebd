import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ChunkInput, Storage } from '../src/storage/index.js';

export interface StorageBackend {
  /** The store under test. */
  readonly storage: Storage;
  /** A second, independent handle on the same durable state: another instance. */
  other(): Promise<Storage>;
  /** A fresh handle that is closed at once (calls must reject, not hang). */
  closed(): Promise<Storage>;
  cleanup(): Promise<void>;
}

const MODEL = { name: 'test/unit/3', dimensions: 3 };
const chunk = (index: number, embedding: number[], text = `chunk ${index}`): ChunkInput => ({
  index,
  text,
  metadata: { page: index + 1 },
  embedding: new Float32Array(embedding),
});

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** The one suite every storage adapter must pass: the same cases, the same expectations. */
export function storageContract(name: string, open: () => Promise<StorageBackend>): void {
  describe(`storage contract: ${name}`, () => {
    let backend: StorageBackend;
    let s: Storage;
    before(async () => {
      backend = await open();
      s = backend.storage;
      const file = (id: string, ownerId: string, collection: string) =>
        s.files.createFile({ id, ownerId, collection, name: id, contentType: 'text/plain', sizeBytes: 1, path: id });
      await file('va', 'alice', 'kb');
      await file('vb', 'bob', 'kb');
      await file('vc', 'alice', 'other');
      await file('vbig', 'alice', 'kb-big');
    });
    after(async () => {
      await backend.cleanup();
    });
    const q = (embedding: number[], extra: Partial<{ collection: string; ownerId: string | null; k: number; model: string }> = {}) =>
      s.files.query({ collection: 'kb', ownerId: null, k: 10, model: MODEL.name, embedding: new Float32Array(embedding), ...extra });
    const newFile = (id: string) => ({ id, ownerId: 'alice', name: `${id}.txt`, contentType: 'text/plain', collection: 'kb', sizeBytes: 42, path: `uploads/${id}` });

    describe('documents', () => {
      it('create, get, conflict on a duplicate id', async () => {
        const access = { read: ['*'], write: ['bob'] };
        const rec = await s.documents.create({ id: 'doc-1', owner: 'alice', access });
        assert.equal(rec.id, 'doc-1');
        assert.equal(rec.owner, 'alice');
        assert.deepEqual(rec.access, access);
        assert.equal(rec.sizeBytes, 0);
        assert.ok(rec.createdAt > 0 && rec.updatedAt === rec.createdAt);
        assert.deepEqual(await s.documents.get('doc-1'), rec);
        assert.equal(await s.documents.get('nope'), null);
        await assert.rejects(s.documents.create({ id: 'doc-1', owner: 'eve', access }), { code: 'SWY_CONFLICT' });
        assert.equal((await s.documents.get('doc-1'))?.owner, 'alice', 'the conflicting create changed nothing');
      });

      it('state is null until saved, then the exact bytes; size follows', async () => {
        await s.documents.create({ id: 'doc-2', owner: 'alice', access: { read: [], write: [] } });
        assert.equal(await s.documents.loadState('doc-2'), null);
        const state = new Uint8Array([0, 1, 2, 250, 255, 7]);
        await s.documents.saveState('doc-2', state);
        assert.deepEqual(await s.documents.loadState('doc-2'), state);
        assert.equal((await s.documents.get('doc-2'))?.sizeBytes, state.byteLength);
        const big = new Uint8Array([9, 9, 4, 5, 6, 9]);
        await s.documents.saveState('doc-2', big.subarray(2, 5));
        assert.deepEqual(await s.documents.loadState('doc-2'), new Uint8Array([4, 5, 6]), 'a view stores only its own bytes');
        assert.equal(await s.documents.loadState('missing'), null);
      });

      it('saving a missing document is NOT_FOUND; delete removes it, idempotently', async () => {
        await assert.rejects(s.documents.saveState('ghost', new Uint8Array([1])), { code: 'SWY_NOT_FOUND' });
        await assert.rejects(s.documents.saveState('ghost', new Uint8Array([1]), 3), { code: 'SWY_NOT_FOUND' });
        await s.documents.create({ id: 'doc-3', owner: 'a', access: { read: [], write: [] } });
        await s.documents.delete('doc-3');
        assert.equal(await s.documents.get('doc-3'), null);
        await s.documents.delete('doc-3');
      });

      it('countByOwner counts exactly the documents a user owns (the per-user document limit)', async () => {
        const none = { read: [], write: [] };
        const before = await s.documents.countByOwner('counter-a');
        await s.documents.create({ id: 'count-a1', owner: 'counter-a', access: none });
        await s.documents.create({ id: 'count-a2', owner: 'counter-a', access: none });
        await s.documents.create({ id: 'count-b1', owner: 'counter-b', access: none });
        assert.equal(await s.documents.countByOwner('counter-a'), before + 2);
        assert.equal(await s.documents.countByOwner('counter-b'), 1);
        assert.equal(await s.documents.countByOwner('nobody'), 0);
        await s.documents.delete('count-a1');
        assert.equal(await s.documents.countByOwner('counter-a'), before + 1);
      });

      it('a save under a superseded persist lease is refused with LEASE_LOST once the next writer claimed the document', async () => {
        await s.documents.create({ id: 'doc-fence', owner: 'a', access: { read: [], write: [] } });
        assert.equal(await s.documents.claimState('doc-fence', 4), null, 'nothing saved yet');
        await s.documents.saveState('doc-fence', new Uint8Array([1]), 4);
        // Writer 4 pauses (GC, network); its lease expires and writer 5 takes over.
        assert.deepEqual(await s.documents.claimState('doc-fence', 5), new Uint8Array([1]), 'the claim returns the stored state');
        await assert.rejects(s.documents.saveState('doc-fence', new Uint8Array([6, 6, 6]), 4), { code: 'SWY_LEASE_LOST' });
        assert.deepEqual(await s.documents.loadState('doc-fence'), new Uint8Array([1]), 'the stale save changed nothing');
        await s.documents.saveState('doc-fence', new Uint8Array([2]), 5);
        await s.documents.saveState('doc-fence', new Uint8Array([3]), 5);
        // The coordination backend restarted and its fence counter with it: a claim still wins.
        await s.documents.claimState('doc-fence', 1);
        await s.documents.saveState('doc-fence', new Uint8Array([4]), 1);
        await assert.rejects(s.documents.saveState('doc-fence', new Uint8Array([9]), 5), { code: 'SWY_LEASE_LOST' });
        assert.deepEqual(await s.documents.loadState('doc-fence'), new Uint8Array([4]));
        await s.documents.saveState('doc-fence', new Uint8Array([7])); // unfenced callers are not refused…
        await assert.rejects(s.documents.saveState('doc-fence', new Uint8Array([8]), 5), { code: 'SWY_LEASE_LOST' }, '…and keep the claim');
        assert.equal(await s.documents.claimState('ghost', 3), null, 'claiming a missing document is harmless');
      });
    });

    describe('files', () => {
      it('create starts queued; get; conflict on a duplicate id', async () => {
        const rec = await s.files.createFile(newFile('f-1'));
        assert.deepEqual(
          { status: rec.status, progress: rec.progress, chunks: rec.chunks, error: rec.error, attempts: rec.attempts, path: rec.path, sizeBytes: rec.sizeBytes },
          { status: 'queued', progress: 0, chunks: 0, error: null, attempts: 0, path: 'uploads/f-1', sizeBytes: 42 },
        );
        assert.deepEqual(await s.files.getFile('f-1'), rec);
        assert.equal(await s.files.getFile('nope'), null);
        await assert.rejects(s.files.createFile(newFile('f-1')), { code: 'SWY_CONFLICT' });
      });

      it('updateFile patches only the given fields; unknown fields and statuses are refused', async () => {
        await s.files.createFile(newFile('f-2'));
        const started = await s.files.updateFile('f-2', { status: 'started', attempts: 1, progress: 0.25 });
        assert.deepEqual([started?.status, started?.attempts, started?.progress], ['started', 1, 0.25]);
        const failed = await s.files.updateFile('f-2', { status: 'failed', error: 'boom' });
        assert.equal(failed?.error, 'boom');
        assert.equal(failed?.attempts, 1, 'untouched fields keep their value');
        const cleared = await s.files.updateFile('f-2', { error: null, status: 'finished', chunks: 3, progress: 1 });
        assert.deepEqual([cleared?.error, cleared?.chunks, cleared?.status], [null, 3, 'finished']);
        assert.deepEqual(await s.files.updateFile('f-2', {}), cleared, 'an empty patch changes nothing');
        assert.equal(await s.files.updateFile('ghost', { status: 'started' }), null);
        await assert.rejects(s.files.updateFile('f-2', { status: 'weird' as 'queued' }), { code: 'SWY_BAD_REQUEST' });
        await assert.rejects(s.files.updateFile('f-2', { name: 'x' } as never), { code: 'SWY_BAD_REQUEST' });
        assert.equal((await s.files.getFile('f-2'))?.status, 'finished', 'a refused patch wrote nothing');
      });

      it('listByStatus returns exactly the files in those states', async () => {
        await s.files.createFile(newFile('f-3'));
        await s.files.createFile(newFile('f-4'));
        await s.files.updateFile('f-4', { status: 'deferred' });
        const ids = async (...st: Parameters<typeof s.files.listByStatus>[0][number][]) =>
          (await s.files.listByStatus(st)).map((f) => f.id).filter((id) => id.startsWith('f-')).sort();
        assert.deepEqual(await ids('queued'), ['f-1', 'f-3']);
        assert.deepEqual(await ids('queued', 'deferred'), ['f-1', 'f-3', 'f-4']);
        assert.deepEqual(await ids('finished'), ['f-2']);
        assert.deepEqual(await s.files.listByStatus([]), []);
      });

      it('deleteFile removes the record, its chunks and its vectors', async () => {
        const file = await s.files.createFile({ ...newFile('f-del'), collection: 'kb-del' });
        const model = { name: 'test/del/2', dimensions: 2 };
        await s.files.replaceChunks(file.id, [0, 1, 2].map((i) => ({ index: i, text: `t${i}`, metadata: {}, embedding: new Float32Array([1, i]) })), model);
        assert.equal(await s.files.countChunks(file.id), 3);
        await s.files.deleteFile(file.id);
        assert.equal(await s.files.getFile(file.id), null);
        assert.equal(await s.files.countChunks(file.id), 0);
        assert.deepEqual(await s.files.query({ collection: 'kb-del', ownerId: null, embedding: new Float32Array([1, 0]), k: 10, model: model.name }), []);
        await s.files.deleteFile(file.id);
      });
    });

    describe('chunks and vectors', () => {
      it('query ranks by cosine similarity (higher = closer) and returns text and metadata', async () => {
        await s.files.replaceChunks('va', [chunk(0, [1, 0, 0]), chunk(1, [0, 1, 0]), chunk(2, [1, 1, 0])], MODEL);
        const hits = await q([1, 0.1, 0]);
        assert.deepEqual(hits.map((h) => h.chunk), [0, 2, 1]);
        assert.ok(Math.abs(hits[0]!.score - 0.995037) < 1e-4, `cos([1,.1,0],[1,0,0]) = ${hits[0]!.score}`);
        assert.ok(Math.abs(hits[1]!.score - 0.773957) < 1e-4);
        assert.ok(Math.abs(hits[2]!.score - 0.099504) < 1e-4);
        assert.deepEqual({ ...hits[0], score: 0 }, { fileId: 'va', chunk: 0, text: 'chunk 0', score: 0, metadata: { page: 1 } });
        assert.deepEqual((await q([1, 0.1, 0], { k: 1 })).map((h) => h.chunk), [0], 'k bounds the hits');
      });

      it('query is scoped by owner (null = admin sees all) and by collection', async () => {
        await s.files.replaceChunks('vb', [chunk(0, [1, 0, 0], 'bob says')], MODEL);
        await s.files.replaceChunks('vc', [chunk(0, [1, 0, 0], 'other collection')], MODEL);
        assert.deepEqual((await q([1, 0, 0])).map((h) => h.fileId).sort(), ['va', 'va', 'va', 'vb']);
        assert.deepEqual([...new Set((await q([1, 0, 0], { ownerId: 'alice' })).map((h) => h.fileId))], ['va']);
        assert.deepEqual((await q([1, 0, 0], { ownerId: 'bob' })).map((h) => h.text), ['bob says']);
        assert.deepEqual((await q([1, 0, 0], { collection: 'other' })).map((h) => h.text), ['other collection']);
        assert.deepEqual(await q([1, 0, 0], { ownerId: 'nobody' }), []);
        assert.deepEqual(await q([1, 0, 0], { model: 'never/used' }), [], 'an unknown model has no vectors');
      });

      it('replaceChunks replaces: a retried or duplicated job leaves exactly one copy of each chunk', async () => {
        const chunks = [chunk(0, [0, 0, 1]), chunk(1, [0, 1, 1])];
        await s.files.replaceChunks('vb', chunks, MODEL);
        await s.files.replaceChunks('vb', chunks, MODEL);
        await Promise.all([s.files.replaceChunks('vb', chunks, MODEL), s.files.replaceChunks('vb', chunks, MODEL)]);
        assert.equal(await s.files.countChunks('vb'), 2);
        assert.deepEqual((await q([0, 0, 1], { ownerId: 'bob' })).map((h) => h.chunk), [0, 1], 'no duplicate vectors either');
        await s.files.replaceChunks('vb', [chunk(0, [0, 0, 1])], MODEL);
        assert.equal(await s.files.countChunks('vb'), 1, 'fewer chunks on the retry: the extra old ones are gone');
        assert.equal((await q([0, 0, 1], { ownerId: 'bob' })).length, 1);
      });

      it('replaceChunks is all or nothing: a bad chunk midway leaves the old chunks, vectors and status intact', async () => {
        const before = await q([1, 0.1, 0], { ownerId: 'alice' });
        const statusBefore = (await s.files.getFile('va'))!.status;
        const bad = [chunk(0, [0, 0, 1], 'new 0'), chunk(1, [0, 0, 1], 'new 1'), chunk(2, [1, 2, 3, 4], 'wrong dims'), chunk(3, [0, 0, 1])];
        await assert.rejects(s.files.replaceChunks('va', bad, MODEL, { status: 'finished', chunks: 4 }), (err: unknown) => {
          assert.equal((err as { code?: string }).code, 'SWY_STORAGE_FAILED');
          assert.match((err as Error).message, /chunk 2 .* 4 dimensions/);
          return true;
        });
        assert.equal(await s.files.countChunks('va'), 3);
        assert.deepEqual(await q([1, 0.1, 0], { ownerId: 'alice' }), before);
        // Duplicate indexes in one call violate (file, idx): also rolled back whole, status included.
        await assert.rejects(s.files.replaceChunks('va', [chunk(0, [0, 0, 1]), chunk(0, [0, 0, 1])], MODEL, { status: 'finished', chunks: 2 }), { code: 'SWY_STORAGE_FAILED' });
        assert.deepEqual(await q([1, 0.1, 0], { ownerId: 'alice' }), before);
        assert.equal((await s.files.getFile('va'))!.status, statusBefore, 'the status patch rolled back with the chunks');
      });

      it('replaceChunks with a status patch writes chunks and status together', async () => {
        await s.files.createFile({ ...newFile('f-then'), collection: 'kb-then' });
        await s.files.replaceChunks('f-then', [chunk(0, [0, 1, 0]), chunk(1, [1, 0, 0])], MODEL, { status: 'finished', progress: 1, chunks: 2, error: null });
        const rec = await s.files.getFile('f-then');
        assert.deepEqual([rec?.status, rec?.progress, rec?.chunks], ['finished', 1, 2]);
        assert.equal(await s.files.countChunks('f-then'), 2);
        await assert.rejects(s.files.replaceChunks('f-then', [chunk(0, [0, 1, 0])], MODEL, { status: 'nope' as 'queued' }), { code: 'SWY_BAD_REQUEST' });
        assert.equal(await s.files.countChunks('f-then'), 2, 'a bad patch rolls the chunks back too');
      });

      it('a model keeps its dimensions; bad queries and missing files are refused', async () => {
        await assert.rejects(s.files.replaceChunks('vc', [chunk(0, [1, 0])], { name: MODEL.name, dimensions: 2 }), /stored with 3 dimensions/);
        await assert.rejects(q([1, 0]), { code: 'SWY_BAD_REQUEST' });
        await assert.rejects(q([1, 0, 0], { k: 0 }), { code: 'SWY_BAD_REQUEST' });
        await assert.rejects(q([1, 0, 0], { k: 1.5 }), { code: 'SWY_BAD_REQUEST' });
        await assert.rejects(s.files.replaceChunks('ghost', [chunk(0, [1, 0, 0])], MODEL), { code: 'SWY_NOT_FOUND' });
      });

      it('models of different dimensions live side by side', async () => {
        const wide = { name: 'test/wide/512', dimensions: 512 };
        const v = (hot: number) => {
          const a = new Float32Array(512);
          a[hot] = 1;
          return a;
        };
        await s.files.replaceChunks('vbig', [5, 9, 300].map((hot, i) => ({ index: i, text: `hot ${hot}`, metadata: {}, embedding: v(hot) })), wide);
        const hits = await s.files.query({ collection: 'kb-big', ownerId: 'alice', embedding: v(9), k: 3, model: wide.name });
        assert.equal(hits[0]!.text, 'hot 9');
        assert.ok(Math.abs(hits[0]!.score - 1) < 1e-6);
        assert.equal((await q([1, 0.1, 0], { ownerId: 'alice' })).length, 3, 'the 3-d space is untouched');
      });
    });

    describe('upload bytes', () => {
      it('put then open streams back the exact bytes, from a buffer or from a stream of small chunks', async () => {
        const bytes = randomBytes(3 * 1024 * 1024 + 777); // crosses several 1 MiB pieces
        assert.equal(await s.uploads.put('up-1', bytes), bytes.byteLength);
        assert.ok((await readAll(await s.uploads.open('up-1'))).equals(bytes));
        async function* dribble() {
          for (let i = 0; i < bytes.byteLength; i += 65_536 + 3) yield bytes.subarray(i, i + 65_536 + 3);
        }
        assert.equal(await s.uploads.put('up-2', dribble()), bytes.byteLength);
        assert.ok((await readAll(await s.uploads.open('up-2'))).equals(bytes));
      });

      it('put replaces earlier bytes; a source that fails midway leaves the earlier bytes intact', async () => {
        await s.uploads.put('up-3', Buffer.from('first version'));
        await s.uploads.put('up-3', Buffer.from('second'));
        assert.equal((await readAll(await s.uploads.open('up-3'))).toString(), 'second');
        async function* broken() {
          yield Buffer.alloc(2 * 1024 * 1024, 1);
          throw new Error('client went away');
        }
        await assert.rejects(s.uploads.put('up-3', broken()));
        assert.equal((await readAll(await s.uploads.open('up-3'))).toString(), 'second');
      });

      it('missing bytes are NOT_FOUND; delete is idempotent; names that could escape are refused', async () => {
        await assert.rejects(s.uploads.open('never'), { code: 'SWY_NOT_FOUND' });
        await s.uploads.put('up-4', Buffer.from('x'));
        await s.uploads.delete('up-4');
        await assert.rejects(s.uploads.open('up-4'), { code: 'SWY_NOT_FOUND' });
        await s.uploads.delete('up-4');
        for (const bad of ['../escape', 'a/b', '', '.hidden/..']) {
          await assert.rejects(s.uploads.put(bad, Buffer.from('x')), { code: 'SWY_BAD_REQUEST' }, bad);
          await assert.rejects(s.uploads.open(bad), { code: 'SWY_BAD_REQUEST' }, bad);
        }
      });

      it('an empty upload round-trips as zero bytes', async () => {
        assert.equal(await s.uploads.put('up-empty', new Uint8Array(0)), 0);
        assert.equal((await readAll(await s.uploads.open('up-empty'))).byteLength, 0);
      });
    });

    describe('key records', () => {
      it('put, get, overwrite, delete; missing is null; bad names are refused', async () => {
        assert.equal(await s.keys.get('k1'), null);
        await s.keys.put('k1', new Uint8Array([1, 2, 3]));
        assert.deepEqual(await s.keys.get('k1'), new Uint8Array([1, 2, 3]));
        await s.keys.put('k1', new Uint8Array([9]));
        assert.deepEqual(await s.keys.get('k1'), new Uint8Array([9]));
        await s.keys.delete('k1');
        assert.equal(await s.keys.get('k1'), null);
        await s.keys.delete('k1');
        await assert.rejects(s.keys.put('../k', new Uint8Array([1])), { code: 'SWY_BAD_REQUEST' });
      });
    });

    describe('another instance', () => {
      it('sees documents, files, vectors, upload bytes and key records written by this one', async () => {
        const other = await backend.other();
        try {
          await s.documents.create({ id: 'doc-shared', owner: 'a', access: { read: [], write: [] } });
          await s.documents.saveState('doc-shared', new Uint8Array([4, 2]));
          assert.deepEqual(await other.documents.loadState('doc-shared'), new Uint8Array([4, 2]));
          const bytes = randomBytes(1_500_000);
          await s.uploads.put('up-shared', bytes);
          assert.ok((await readAll(await other.uploads.open('up-shared'))).equals(bytes));
          await s.keys.put('k-shared', new Uint8Array([7, 7]));
          assert.deepEqual(await other.keys.get('k-shared'), new Uint8Array([7, 7]));
          assert.deepEqual((await other.files.query({ collection: 'kb', ownerId: 'bob', embedding: new Float32Array([0, 0, 1]), k: 5, model: MODEL.name })).length, 1);
        } finally {
          await other.close();
        }
      });
    });

    describe('lifecycle', () => {
      it('ping answers; calls after close reject with STORAGE_UNAVAILABLE; close is idempotent', async () => {
        await s.ping();
        const closed = await backend.closed();
        await assert.rejects(closed.documents.get('x'), { code: 'SWY_STORAGE_UNAVAILABLE' });
        await assert.rejects(closed.files.getFile('x'), { code: 'SWY_STORAGE_UNAVAILABLE' });
        await closed.close();
      });
    });
  });
}
