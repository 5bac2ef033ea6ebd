import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { DocCloseCodes, encodeAwarenessUpdate, MessageType } from '../src/docs/protocol.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc, docToken, getDoc } from './helpers/docs.js';
import { sleep, waitFor } from './helpers/wait.js';

/** A raw /doc socket that records every frame it receives. */
async function rawSocket(port: number, docId: string, sub: string): Promise<{ ws: WebSocket; frames: Uint8Array[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/doc/${docId}?token=${await docToken(sub)}`);
  const frames: Uint8Array[] = [];
  ws.on('message', (data: Buffer) => frames.push(new Uint8Array(data)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await waitFor(() => frames.length > 0, { what: 'the server greeting (sync step 1)' });
  return { ws, frames };
}

/** The reason of a permission-denied auth message, or null for any other frame. */
function deniedReason(frame: Uint8Array): string | null {
  const d = decoding.createDecoder(frame);
  if (decoding.readVarUint(d) !== MessageType.Auth || decoding.readVarUint(d) !== 0) return null;
  return decoding.readVarString(d);
}

function awarenessFrame(state: Record<string, unknown>): { frame: Uint8Array; clientId: number } {
  const doc = new Y.Doc();
  const awareness = new awarenessProtocol.Awareness(doc);
  awareness.setLocalState(state);
  const frame = encodeAwarenessUpdate(awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]));
  const clientId = doc.clientID;
  awareness.destroy();
  doc.destroy();
  return { frame, clientId };
}

/** `/doc` limits, each tried as an attacker with a valid account would (issue 13 item 6). */
describe('documents: per-socket limits', () => {
  let t: TestRuntime;
  before(async () => {
    t = await startRuntime({ docs: { maxAwarenessBytes: 65_536, messagesPerSecond: 20, messageBurst: 40, mailboxCapacity: 16 } });
  });
  after(() => t.runtime.stop());

  it('an awareness frame over docs.maxAwarenessBytes is refused for the sender (SWY_PAYLOAD_TOO_LARGE) and reaches nobody', async () => {
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'aw', access: { read: ['mallory'] } })).status, 201);
    const victim = await Client.open(t.runtime.port, 'aw', 'alice');
    try {
      victim.text.insert(0, 'precious');
      const attacker = await rawSocket(t.runtime.port, 'aw', 'mallory');
      const big = awarenessFrame({ user: { name: 'x'.repeat(200_000) } });
      assert.ok(big.frame.byteLength > 65_536);
      const before = attacker.frames.length;
      attacker.ws.send(big.frame);
      await waitFor(() => attacker.frames.slice(before).some((f) => deniedReason(f) !== null), { what: 'the refusal' });
      const reason = attacker.frames.slice(before).map(deniedReason).find((r) => r !== null)!;
      assert.match(reason, /^SWY_PAYLOAD_TOO_LARGE: awareness update of \d+ bytes is over the 65536-byte limit/);
      // A normal-sized awareness from the same socket still goes through: the socket stays usable.
      const small = awarenessFrame({ user: { name: 'mallory' } });
      attacker.ws.send(small.frame);
      await waitFor(() => victim.provider.awareness.getStates().get(small.clientId)?.user?.name === 'mallory', { what: 'the small awareness relayed' });
      await sleep(100);
      assert.equal(victim.provider.awareness.getStates().has(big.clientId), false, 'the big state reached no member');
      assert.equal(attacker.ws.readyState, WebSocket.OPEN);
      assert.equal(victim.text.toString(), 'precious');
      attacker.ws.close();
    } finally {
      victim.destroy();
    }
  });

  it('a socket flooding frames past docs.messagesPerSecond gets SWY_RATE_LIMITED and is closed (4430); the victim keeps editing', async () => {
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'flood', access: { read: ['mallory'] } })).status, 201);
    const victim = await Client.open(t.runtime.port, 'flood', 'alice');
    try {
      const attacker = await rawSocket(t.runtime.port, 'flood', 'mallory');
      const closed = new Promise<number>((resolve) => attacker.ws.once('close', (code) => resolve(code)));
      const queryAwareness = Uint8Array.from([MessageType.QueryAwareness]);
      for (let i = 0; i < 500; i++) attacker.ws.send(queryAwareness);
      assert.equal(await closed, DocCloseCodes.RATE_LIMITED.code);
      const reasons = attacker.frames.map(deniedReason).filter((r) => r !== null);
      assert.equal(reasons.length, 1);
      assert.match(reasons[0]!, /^SWY_RATE_LIMITED: more than 20 document messages per second \(burst 40\)/);
      // Replies to at most the burst (plus refill): the rest never reached the document.
      const replies = attacker.frames.filter((f) => f[0] === MessageType.Awareness).length;
      assert.ok(replies <= 60, `${replies} awareness replies`);
      victim.text.insert(0, 'still mine');
      const check = await Client.open(t.runtime.port, 'flood', 'alice');
      try {
        await waitFor(() => check.text.toString() === 'still mine', { what: 'the victim\'s edit reaches another client' });
      } finally {
        check.destroy();
      }
      assert.equal(victim.provider.wsconnected, true, 'the victim was not disconnected');
    } finally {
      victim.destroy();
    }
  });

  it('frames sent before the access check are never queued: a user without access cannot fill the mailbox', async () => {
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'gate' })).status, 201);
    // A long unsaved log makes the load take a while (merged in a pool thread).
    const source = new Y.Doc();
    source.on('update', (u: Uint8Array) => void t.runtime.coordination.docLog.append('gate', 'elsewhere', u));
    for (let i = 0; i < 400; i++) source.getText('body').insert(0, `${i}${'y'.repeat(2_000)}`);
    source.destroy();
    await waitFor(async () => (await t.runtime.coordination.docLog.backlog('gate')).entries.length === 400, { what: 'backlog written' });
    // The intruder is the first to open the document, so its frames arrive while it loads.
    const ws = new WebSocket(`ws://127.0.0.1:${t.runtime.port}/doc/gate?token=${await docToken('mallory')}`);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.once('open', () => {
      for (let i = 0; i < 35; i++) ws.send(Uint8Array.from([MessageType.QueryAwareness])); // > mailboxCapacity 16
    });
    // Queued, these 35 frames would overflow the 16-slot mailbox (4429) before the access check ran.
    assert.equal(await closed, DocCloseCodes.FORBIDDEN.code);
    const victim = await Client.open(t.runtime.port, 'gate', 'alice');
    try {
      victim.text.insert(0, 'ok');
      const other = await Client.open(t.runtime.port, 'gate', 'alice');
      try {
        await waitFor(() => other.text.toString() === victim.text.toString() && victim.text.toString().startsWith('ok'), { what: 'the owner edits as usual' });
        assert.equal(other.text.length, 2 + 400 * 2_000 + [...Array(400).keys()].join('').length, 'the backlog loaded in full');
      } finally {
        other.destroy();
      }
    } finally {
      victim.destroy();
    }
  });
});

describe('documents: a per-document size cap', () => {
  let t: TestRuntime;
  before(async () => {
    t = await startRuntime({ docs: { maxDocumentBytes: 65_536 } });
  });
  after(() => t.runtime.stop());

  it('an update that would grow the document past docs.maxDocumentBytes is refused (SWY_PAYLOAD_TOO_LARGE, close 4413); the document keeps its content', async () => {
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'cap', access: { write: ['mallory'] } })).status, 201);
    const victim = await Client.open(t.runtime.port, 'cap', 'alice');
    try {
      victim.text.insert(0, 'small and safe');
      const attacker = await rawSocket(t.runtime.port, 'cap', 'mallory');
      const closed = new Promise<number>((resolve) => attacker.ws.once('close', (code) => resolve(code)));
      // A 100 KB insert, as a y-websocket update message.
      const bomb = new Y.Doc();
      let update: Uint8Array | null = null;
      bomb.on('update', (u: Uint8Array) => (update = u));
      bomb.getText('body').insert(0, 'z'.repeat(100_000));
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MessageType.Sync);
      encoding.writeVarUint(e, 2); // update
      encoding.writeVarUint8Array(e, update!);
      attacker.ws.send(encoding.toUint8Array(e));
      assert.equal(await closed, DocCloseCodes.TOO_LARGE.code);
      const reason = attacker.frames.map(deniedReason).find((r) => r !== null);
      assert.match(reason ?? '', /^SWY_PAYLOAD_TOO_LARGE: the document would pass its 65536-byte limit/);
      bomb.destroy();
      const res = await (await getDoc(t.runtime, 'alice'))('cap');
      assert.equal(res.json.text.body, 'small and safe');
      victim.text.insert(victim.text.length, '!');
      await waitFor(async () => (await (await getDoc(t.runtime, 'alice'))('cap')).json.text.body === 'small and safe!', { what: 'small edits still apply' });
    } finally {
      victim.destroy();
    }
  });
});
