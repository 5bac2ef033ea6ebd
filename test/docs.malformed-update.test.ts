import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { Client, createDoc, docToken, getDoc } from './helpers/docs.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';

const ORIGINAL = 'the text everyone agreed on';

/**
 * A Yjs update whose structs are valid and whose delete set is cut short. It is built from the
 * document's real state, so the structs would insert text and the delete set would remove real
 * characters: if any part of it were applied, the text would change.
 */
function updateCutInsideDeleteSet(state: Uint8Array): { cut: Uint8Array; dsStart: number; full: Uint8Array } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, state);
  const before = Y.encodeStateVector(doc);
  doc.getText('body').insert(doc.getText('body').length, ' INJECTED');
  // Structs only (the delete set is empty: one 0 byte at the end).
  const insertOnly = Y.encodeStateAsUpdate(doc, before);
  doc.getText('body').delete(0, 3);
  doc.getText('body').delete(8, 4);
  const full = Y.encodeStateAsUpdate(doc, before);
  doc.destroy();
  const dsStart = insertOnly.length - 1;
  assert.deepEqual(full.subarray(0, dsStart), insertOnly.subarray(0, dsStart), 'same structs, then the delete set');
  const cut = full.slice(0, dsStart + Math.ceil((full.length - dsStart) / 2));
  return { cut, dsStart, full };
}

function frameUpdate(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0); // Sync
  encoding.writeVarUint(e, 2); // Update
  encoding.writeVarUint8Array(e, update); // length-prefixed: the frame itself is well formed
  return encoding.toUint8Array(e);
}

describe('documents: an update cut inside its delete set', () => {
  let t: TestRuntime;
  const clients: Client[] = [];
  before(async () => {
    t = await startRuntime();
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'ds', access: { write: ['*'] } })).status, 201);
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await t.runtime.stop();
  });

  it('is refused with 4400, the document is unchanged, other clients are unaffected', async () => {
    const alice = await Client.open(t.runtime.port, 'ds', 'alice');
    const bob = await Client.open(t.runtime.port, 'ds', 'bob');
    clients.push(alice, bob);
    alice.text.insert(0, ORIGINAL);
    const read = await getDoc(t.runtime, 'alice');
    await waitFor(async () => (await read('ds')).json.text.body === ORIGINAL, { what: 'the original text on the server' });
    await waitFor(() => bob.text.toString() === ORIGINAL, { what: 'bob synced' });

    const { cut, dsStart, full } = updateCutInsideDeleteSet(Y.encodeStateAsUpdate(alice.doc));
    assert.ok(cut.length > dsStart && cut.length < full.length, 'the cut falls inside the delete set');
    assert.throws(() => Y.decodeUpdate(cut), 'precondition: Yjs itself cannot read the cut update');
    // Control: the uncut update is a real, applicable edit (so the refusal is about the cut).
    const probe = new Y.Doc();
    Y.applyUpdate(probe, Y.encodeStateAsUpdate(alice.doc));
    Y.applyUpdate(probe, full);
    assert.notEqual(probe.getText('body').toString(), ORIGINAL);
    probe.destroy();

    const token = await docToken('mallory');
    const close = await new Promise<{ code: number; reason: string }>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${t.runtime.port}/doc/ds?token=${token}`);
      ws.on('message', () => {}); // the server's sync step 1
      ws.on('open', () => ws.send(frameUpdate(cut)));
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      ws.on('error', () => {});
    });
    assert.deepEqual(close, { code: 4400, reason: 'invalid document message' });

    assert.equal((await read('ds')).json.text.body, ORIGINAL, 'GET /api/docs/ds: unchanged');
    assert.equal(bob.text.toString(), ORIGINAL);
    assert.ok(alice.provider.wsconnected && bob.provider.wsconnected, 'the other sockets stay open');
    // Still live for everyone else: an edit from bob reaches alice and the server.
    bob.text.insert(bob.text.length, '!');
    await waitFor(() => alice.text.toString() === `${ORIGINAL}!`, { what: 'bob’s edit at alice' });
    await waitFor(async () => (await read('ds')).json.text.body === `${ORIGINAL}!`, { what: 'bob’s edit on the server' });
    assert.deepEqual(alice.closes, []);
    assert.deepEqual(bob.closes, []);
  });
});
