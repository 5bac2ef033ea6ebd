import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as Y from 'yjs';
import { joinUpdates } from '../src/docs/joinUpdates.js';

/** `n` replicas of one document, synced; each edit's update is captured. */
function replicas(n: number): { docs: Y.Doc[]; edit: (i: number, fn: (doc: Y.Doc) => void) => Uint8Array } {
  const docs = Array.from({ length: n }, () => new Y.Doc());
  const sync = (u: Uint8Array) => docs.forEach((d) => Y.applyUpdate(d, u, 'remote'));
  const edit = (i: number, fn: (doc: Y.Doc) => void): Uint8Array => {
    let update: Uint8Array | null = null;
    const capture = (u: Uint8Array, origin: unknown) => {
      if (origin !== 'remote') update = u;
    };
    docs[i]!.on('update', capture);
    fn(docs[i]!);
    docs[i]!.off('update', capture);
    assert.ok(update, 'the edit made an update');
    return update;
  };
  return { docs, edit: (i, fn) => {
    const u = edit(i, fn);
    sync(u);
    return u;
  } };
}

/** Content, state vector and delete set of a document: equal when two replicas are the same. */
const state = (doc: Y.Doc) => ({
  map: doc.getMap('m').toJSON(),
  text: doc.getText('t').toString(),
  sv: Array.from(Y.encodeStateVector(doc)),
  snapshot: Array.from(Y.encodeSnapshot(Y.snapshot(doc))),
});

/** A fresh replica that applied `base`, then `updates`. */
function replay(base: readonly Uint8Array[], updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const u of [...base, ...updates]) Y.applyUpdate(doc, u);
  return doc;
}

it('joinUpdates: edits of different clients (map overwrites with deletes, text inserts and deletes) become one update that applies as the parts do', () => {
  const { docs, edit } = replicas(3);
  const base = [
    edit(0, (d) => d.getText('t').insert(0, 'hello world')),
    edit(1, (d) => d.getMap('m').set('b', 1)),
    edit(2, (d) => d.getMap('m').set('c', 1)),
  ];
  const window = [
    edit(0, (d) => d.getMap('m').set('a', { s: 2, t: [1.5, 2] })),
    edit(1, (d) => d.getMap('m').set('b', 2)), // overwrites: a delete-set entry
    edit(2, (d) => {
      d.getText('t').delete(0, 6);
      d.getText('t').insert(0, 'héllo ');
    }),
  ];
  const runs = joinUpdates(window);
  assert.equal(runs.length, 1);
  assert.deepEqual([runs[0]!.start, runs[0]!.end], [0, 3]);
  const joined = runs[0]!.update!;
  assert.ok(joined.byteLength < window.reduce((n, u) => n + u.byteLength, 0), 'one header instead of three');
  const decoded = Y.decodeUpdate(joined);
  assert.equal(decoded.structs.length, window.map((u) => Y.decodeUpdate(u).structs.length).reduce((a, b) => a + b));
  assert.deepEqual(state(replay(base, [joined])), state(replay(base, window)));
  assert.deepEqual(state(replay(base, [joined])), state(docs[0]!), 'the same as every replica');
  // Applied twice (the author receives its own edit back): nothing changes.
  const again = replay(base, [joined, joined]);
  assert.deepEqual(state(again), state(docs[0]!));
});

it('joinUpdates: a client seen again starts a new run; per client the order is kept', () => {
  const { docs, edit } = replicas(2);
  const window = [
    edit(0, (d) => d.getMap('m').set('a', 1)),
    edit(1, (d) => d.getMap('m').set('b', 1)),
    edit(0, (d) => d.getMap('m').set('a', 2)),
    edit(1, (d) => d.getMap('m').set('b', 2)),
    edit(0, (d) => d.getMap('m').set('a', 3)),
  ];
  const runs = joinUpdates(window);
  assert.deepEqual(
    runs.map((r) => [r.start, r.end, r.update !== null]),
    [
      [0, 2, true],
      [2, 4, true],
      [4, 5, false],
    ],
  );
  const sent = runs.map((r) => r.update ?? window[r.start]!);
  assert.deepEqual(state(replay([], sent)), state(docs[1]!));
  assert.deepEqual(replay([], sent).getMap('m').toJSON(), { a: 3, b: 2 });
});

it('joinUpdates: an update that only Yjs reads (a sub-document) or that does not read is a run of its own, sent as it came', () => {
  const { edit } = replicas(3);
  const a = edit(0, (d) => d.getMap('m').set('a', 1));
  const sub = edit(1, (d) => d.getMap('m').set('doc', new Y.Doc()));
  const c = edit(2, (d) => d.getMap('m').set('c', 1));
  const garbage = new Uint8Array([1, 2, 3]);
  const runs = joinUpdates([a, sub, c, garbage]);
  assert.deepEqual(
    runs.map((r) => [r.start, r.end, r.update]),
    [
      [0, 1, null],
      [1, 2, null],
      [2, 3, null],
      [3, 4, null],
    ],
  );
});

it('joinUpdates: a delete-only update (no structs) joins with the rest', () => {
  const { docs, edit } = replicas(2);
  const base = [edit(0, (d) => d.getText('t').insert(0, 'abcdef'))];
  const window = [edit(1, (d) => d.getText('t').delete(1, 3)), edit(0, (d) => d.getText('t').insert(0, 'X'))];
  assert.equal(Y.decodeUpdate(window[0]!).structs.length, 0, 'a delete carries no struct');
  const runs = joinUpdates(window);
  assert.equal(runs.length, 1);
  assert.equal(replay(base, [runs[0]!.update!]).getText('t').toString(), 'Xaef');
  assert.deepEqual(state(replay(base, [runs[0]!.update!])), state(docs[1]!));
});
