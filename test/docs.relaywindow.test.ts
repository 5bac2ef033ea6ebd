import './helpers/guard.js';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, it, mock } from 'node:test';
import type { DocConnection } from '../src/docs/DocConnection.js';
import { RelayWindow } from '../src/docs/RelayWindow.js';

const msg = (n: number) => new Uint8Array([n]);
const sender = { id: 1 } as unknown as DocConnection;

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

function recorder(): { published: Array<[number, DocConnection | null]>; window: (ms: number) => RelayWindow } {
  const published: Array<[number, DocConnection | null]> = [];
  return { published, window: (ms) => new RelayWindow(ms, (m, from) => published.push([m[0]!, from])) };
}

it('relay window: a quiet document publishes at once; what follows within the window goes out together, in order, when it ends', () => {
  const { published, window } = recorder();
  const w = window(5);
  w.send(msg(1), sender);
  assert.deepEqual(published, [[1, sender]]);
  w.send(msg(2), null);
  w.send(msg(3), sender);
  assert.equal(published.length, 1, 'held during the window');
  mock.timers.tick(5);
  assert.deepEqual(published, [[1, sender], [2, null], [3, sender]]);
  w.send(msg(4), null); // the flush opened the next window
  assert.equal(published.length, 3);
  mock.timers.tick(5);
  assert.deepEqual(published.at(-1), [4, null]);
  mock.timers.tick(5); // a window that held nothing closes
  w.send(msg(5), null);
  assert.deepEqual(published.at(-1), [5, null], 'quiet again: published at once');
});

it('relay window: flush publishes what is held, discard drops it, 0 publishes everything at once', () => {
  const { published, window } = recorder();
  const w = window(5);
  w.send(msg(1), null);
  w.send(msg(2), null);
  w.flush();
  assert.deepEqual(published.map(([m]) => m), [1, 2]);
  w.send(msg(3), null);
  w.send(msg(4), null);
  w.discard();
  mock.timers.tick(10);
  assert.deepEqual(published.map(([m]) => m), [1, 2, 3], 'the held update of a deleted document is never sent');

  const now = recorder();
  const immediate = now.window(0);
  for (let i = 0; i < 3; i++) immediate.send(msg(i), null);
  assert.deepEqual(now.published.map(([m]) => m), [0, 1, 2]);
});
