import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as Y from 'yjs';
import { UpdateBatch } from '../src/docs/UpdateBatch.js';

it('update batch: applied in one transaction, a document ends exactly as with one update at a time, dependencies arriving later included', () => {
  const writers = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
  const updates: Uint8Array[] = [];
  writers.forEach((w, i) => w.on('update', (u: Uint8Array, origin: unknown) => origin !== 'sync' && updates.push(u)));
  for (let round = 0; round < 30; round++) {
    writers.forEach((w, i) => {
      w.getMap('m').set(`k${i}`, { round });
      w.getText('t').insert(0, `${i}`);
      if (round % 7 === 6) w.getText('t').delete(1, 2);
    });
    if (round % 5 === 0) for (const a of writers) for (const b of writers) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a), 'sync');
  }
  // Out of order: an update whose dependencies come later waits in Yjs' pending structs, in the batch as outside it.
  const shuffled = [...updates.slice(10), ...updates.slice(0, 10)];
  const one = new Y.Doc();
  for (const u of shuffled) Y.applyUpdate(one, u);
  const batched = new Y.Doc();
  let armed = 0;
  const batch = new UpdateBatch(() => armed++);
  for (const [i, u] of shuffled.entries()) {
    batch.add(u, null);
    if (i % 17 === 16) assert.equal(batch.applyTo(batched), null);
  }
  assert.ok(batch.size > 0);
  assert.equal(armed, 1, 'one settle turn armed until it runs');
  batch.settling();
  assert.equal(batch.applyTo(batched), null);
  assert.equal(batch.size, 0);
  assert.deepEqual(Y.encodeStateVector(batched), Y.encodeStateVector(one));
  assert.deepEqual(batched.getMap('m').toJSON(), one.getMap('m').toJSON());
  assert.equal(batched.getText('t').toString(), one.getText('t').toString());
});

it('update batch: asks to be applied at once when it holds a megabyte, however few updates that is', () => {
  const writer = new Y.Doc();
  const updates: Uint8Array[] = [];
  writer.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = 0; i < 3; i++) writer.getText('t').insert(0, 'x'.repeat(400_000));
  const batch = new UpdateBatch(() => {});
  assert.equal(batch.add(updates[0]!, null), false);
  assert.equal(batch.add(updates[1]!, null), false);
  assert.equal(batch.add(updates[2]!, null), true, 'three 400 kB pastes are over the byte bound');
  const doc = new Y.Doc();
  assert.equal(batch.applyTo(doc), null);
  assert.equal(doc.getText('t').length, 1_200_000);
  assert.equal(batch.add(updates[0]!, null), false, 'the count starts again after applying');
});
