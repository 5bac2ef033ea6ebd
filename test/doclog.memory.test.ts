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
