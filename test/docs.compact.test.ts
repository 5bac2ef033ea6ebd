import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as Y from 'yjs';
import { createCompactor, INLINE_MERGE_MAX_BYTES, type MergePool } from '../src/docs/compact.js';
import { silentLogger } from '../src/observability/logger.js';
import { WorkerPool } from '../src/pool/WorkerPool.js';

const pool = new WorkerPool({ size: 1, log: silentLogger() });
after(() => pool.close());

/** The real pool, counting the tasks it is given. */
let poolRuns = 0;
const counted: MergePool = {
  run: <R>(...args: Parameters<MergePool['run']>) => {
    poolRuns++;
    return pool.run<R>(...args);
  },
};

function updatesOf(doc: Y.Doc, edits: number, size: number): Uint8Array[] {
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  const text = doc.getText('body');
  for (let i = 0; i < edits; i++) text.insert(text.length, `${i}:${'x'.repeat(size)}\n`);
  return updates;
}

test('a small log is merged inline; the result equals Yjs own merge', async () => {
  const compact = createCompactor(counted);
  const updates = updatesOf(new Y.Doc(), 20, 10);
  poolRuns = 0;
  const merged = await compact(updates);
  assert.equal(poolRuns, 0);
  assert.deepEqual(merged, Y.mergeUpdates(updates));
});

test('a large log is merged in a pool thread and yields the same document', async () => {
  const compact = createCompactor(counted);
  const source = new Y.Doc();
  const updates = updatesOf(source, 200, 1_000);
  assert.ok(updates.reduce((n, u) => n + u.byteLength, 0) > INLINE_MERGE_MAX_BYTES);
  poolRuns = 0;
  const merged = await compact(updates);
  assert.equal(poolRuns, 1);
  const replica = new Y.Doc();
  Y.applyUpdate(replica, merged);
  assert.equal(replica.getText('body').toString(), source.getText('body').toString());
});

test('garbage in a large log is refused with a clear error, and the pool keeps working', async () => {
  const compact = createCompactor(counted, 16);
  await assert.rejects(compact([new Uint8Array(64).fill(7), new Uint8Array(64).fill(255)]), (err: Error & { code?: string }) => {
    return err.code === 'SWY_DOC_INVALID_MESSAGE' && /cannot merge document updates/.test(err.message);
  });
  const updates = updatesOf(new Y.Doc(), 5, 10);
  assert.deepEqual(await compact(updates), Y.mergeUpdates(updates));
});
