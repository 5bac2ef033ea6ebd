import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LOG_START, type LogEntry } from '../src/coordination/DocumentLog.js';
import { createMemoryCoordination, MemoryDocumentLog } from '../src/coordination/memory/index.js';
import { documentLogContract } from './doclog.contract.js';
import { waitFor } from './helpers/wait.js';

documentLogContract('memory', async () => {
  const coord = createMemoryCoordination();
  return { a: coord.docLog, b: coord.docLog, cleanup: () => coord.close() };
});

it('memory log: each subscriber is handed only what is new, even with a long untrimmed log', async () => {
  const log = new MemoryDocumentLog();
  const batches: number[] = [];
  log.subscribe('long', LOG_START, { entries: (e: readonly LogEntry[]) => batches.push(e.length), gap: () => {} });
  // One entry per turn, 2,000 turns: a delivery that re-read the log would hand out
  // growing batches (or, filtered by id, cost O(log length) per append).
  for (let i = 0; i < 2_000; i++) {
    await log.append('long', 'A', new Uint8Array([i % 256]));
    await new Promise<void>((r) => setImmediate(r));
  }
  await waitFor(() => batches.reduce((n, b) => n + b, 0) === 2_000, { what: 'all entries delivered' });
  assert.equal(Math.max(...batches), 1, 'every delivery carried just the one new entry');
  assert.equal((await log.backlog('long')).entries.length, 2_000);
  await log.close();
});

it('memory log: a stream with no subscriber and nothing to replay is forgotten', async () => {
  const log = new MemoryDocumentLog();
  const off = log.subscribe('gone', LOG_START, { entries: () => {}, gap: () => {} });
  const id = await log.append('gone', 'A', new Uint8Array([1]));
  await log.trim('gone', `${id.split('-')[0]}-${Number(id.split('-')[1]) + 1}`);
  off();
  assert.equal(log.size(), 0);
});

it('memory log: a reader\'s own appends cost no delivery while nothing else is pending; others\' entries still arrive, with its own around them', async () => {
  const log = new MemoryDocumentLog();
  const got: string[] = [];
  const caught: string[] = [];
  log.subscribe('own', LOG_START, {
    origin: 'A',
    entries: (e: readonly LogEntry[]) => got.push(...e.map((x) => `${x.origin}:${x.update[0]}`)),
    gap: () => {},
    caughtUp: (id: string) => caught.push(id),
  });
  await new Promise<void>((r) => setImmediate(r)); // the subscription's first delivery turn
  const own1 = await log.append('own', 'A', new Uint8Array([1]));
  const own2 = await log.append('own', 'A', new Uint8Array([2]));
  assert.deepEqual(caught, [own1, own2], 'told at once, in order');
  assert.deepEqual(got, [], 'nothing handed back');
  // A foreign entry is pending: own entries behind it go the normal way, in order.
  void log.append('own', 'B', new Uint8Array([3]));
  void log.append('own', 'A', new Uint8Array([4]));
  await waitFor(() => got.length === 2, { what: 'foreign entry and the own one after it' });
  assert.deepEqual(got, ['B:3', 'A:4']);
  assert.equal(caught.length, 2);
  assert.equal((await log.backlog('own')).entries.length, 4, 'every entry is still in the log');
  await log.close();
});
