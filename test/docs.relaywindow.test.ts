import './helpers/guard.js';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, it, mock } from 'node:test';
import type { DocConnection } from '../src/docs/DocConnection.js';
import * as Y from 'yjs';
import { decodeMessage, encodeUpdate } from '../src/docs/protocol.js';
import { RelayClock, RelayWindow } from '../src/docs/RelayWindow.js';

const msg = (n: number) => new Uint8Array([n]);
const sender = { id: 1 } as unknown as DocConnection;

beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
afterEach(() => mock.timers.reset());

function recorder(clock: RelayClock): { published: Array<[number, DocConnection | null]>; window: () => RelayWindow } {
  const published: Array<[number, DocConnection | null]> = [];
  return { published, window: () => new RelayWindow(clock, (m, from) => published.push([m[0]!, from])) };
}

it('relay window: a quiet document publishes at once; what follows within the window goes out together, in order, at the tick', () => {
  const clock = new RelayClock(5);
  const { published, window } = recorder(clock);
  const w = window();
  const other = recorder(clock);
  const w2 = other.window();
  w.send(msg(1), msg(1), sender);
  w2.send(msg(9), msg(9), null);
  assert.deepEqual(published, [[1, sender]]);
  w.send(msg(2), msg(2), null);
  w.send(msg(3), msg(3), sender);
  assert.equal(published.length, 1, 'held during the window');
  mock.timers.tick(5);
  assert.deepEqual(published, [[1, sender], [2, null], [3, sender]]);
  assert.deepEqual(other.published, [[9, null]], 'a window per document, one clock');
  w.send(msg(4), msg(4), null); // the flush kept the window open
  assert.equal(published.length, 3);
  mock.timers.tick(5);
  assert.deepEqual(published.at(-1), [4, null]);
  mock.timers.tick(5); // a window that held nothing closes
  w.send(msg(5), msg(5), null);
  assert.deepEqual(published.at(-1), [5, null], 'quiet again: published at once');
});

it('relay window: flush publishes what is held, discard drops it, a period of 0 publishes everything at once', () => {
  const { published, window } = recorder(new RelayClock(5));
  const w = window();
  w.send(msg(1), msg(1), null);
  w.send(msg(2), msg(2), null);
  w.flush();
  assert.deepEqual(published.map(([m]) => m), [1, 2]);
  w.send(msg(3), msg(3), null);
  w.discard();
  mock.timers.tick(10);
  assert.deepEqual(published.map(([m]) => m), [1, 2], 'the held update of a deleted document is never sent');

  const now = recorder(new RelayClock(0));
  const immediate = now.window();
  for (let i = 0; i < 3; i++) immediate.send(msg(i), msg(i), null);
  assert.deepEqual(now.published.map(([m]) => m), [0, 1, 2]);
});

it('relay window: after a window that held updates the next one is the busy length; a quiet one is short again', () => {
  const { published, window } = recorder(new RelayClock(5, 15));
  const w = window();
  w.send(msg(1), msg(1), null);
  w.send(msg(2), msg(2), null);
  mock.timers.tick(5);
  assert.deepEqual(published.map(([m]) => m), [1, 2], 'the first window is one period');
  w.send(msg(3), msg(3), null);
  mock.timers.tick(10);
  assert.equal(published.length, 2, 'a busy window holds for three periods');
  mock.timers.tick(5);
  assert.deepEqual(published.map(([m]) => m), [1, 2, 3]);
  mock.timers.tick(15); // held nothing: the window closes
  w.send(msg(4), msg(4), null);
  assert.deepEqual(published.at(-1), [4, null], 'quiet again: published at once');
  w.send(msg(5), msg(5), null);
  mock.timers.tick(5);
  assert.deepEqual(published.at(-1), [5, null], 'and its window is short again');
});

it('relay window: the updates a window held from different clients go out as one joined update to everyone (the first at once, as it came)', () => {
  const published: Array<[number, DocConnection | null]> = [];
  const frames: Uint8Array[] = [];
  const w = new RelayWindow(new RelayClock(5), (m, from) => {
    frames.push(m);
    published.push([m.length, from]);
  });
  const authors = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
  const updates = authors.map((doc, i) => {
    let update!: Uint8Array;
    doc.once('update', (u: Uint8Array) => (update = u));
    doc.getMap('m').set(`k${i}`, i);
    return update;
  });
  for (const u of updates) w.send(u, encodeUpdate(u), sender);
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0], encodeUpdate(updates[0]!), 'a quiet document: the first goes out at once, as it came');
  assert.equal(published[0]![1], sender, '…not back to its author');
  mock.timers.tick(5);
  assert.equal(frames.length, 2, 'the other two: one message');
  assert.equal(published[1]![1], null, 'to every socket');
  const replica = new Y.Doc();
  for (const frame of frames) {
    const msg = decodeMessage(frame);
    assert.ok('update' in msg);
    Y.applyUpdate(replica, msg.update);
  }
  assert.deepEqual(replica.getMap('m').toJSON(), { k0: 0, k1: 1, k2: 2 });
});
