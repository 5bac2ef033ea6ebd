import './helpers/guard.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import * as Y from 'yjs';
import { Client, createDoc, getDoc } from './helpers/docs.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { FAST_PRESENCE, startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { Inbox, originalToken, sioConnect } from './helpers/socketio.js';
import { sleep, waitFor } from './helpers/wait.js';

/**
 * The original chat UI's note client, as it drives the protocol: join → state (+ sessions),
 * the lowest socket id seeds an empty note, local edits go out as `Array.from(update)`,
 * remote ones are applied unless they carry our own socket id.
 */
class NoteClient {
  readonly doc = new Y.Doc();
  readonly inbox: Inbox;
  sessions: string[] = [];
  seeded = false;
  /** The test arms seeding once both clients joined, so the lowest-id rule (not join order) decides. */
  armed = false;

  constructor(readonly socket: Socket, readonly documentId: string, readonly userId: string, private readonly seedText: string) {
    this.inbox = new Inbox(socket);
    socket.on('ydoc:document:state', (data: { document_id: string; state: number[]; sessions: string[] }) => {
      if (data.document_id !== documentId) return;
      this.sessions = data.sessions;
      const state = new Uint8Array(data.state);
      const empty = state.length === 2 && state[0] === 0 && state[1] === 0;
      if (!empty) Y.applyUpdate(this.doc, state, 'remote');
      else if (this.armed && !this.seeded && [...data.sessions].sort()[0] === socket.id) {
        this.seeded = true;
        this.doc.getText('body').insert(0, this.seedText);
      }
    });
    socket.on('ydoc:document:update', (data: { document_id: string; socket_id: string; update?: number[] }) => {
      if (data.document_id === documentId && data.socket_id !== socket.id && data.update) Y.applyUpdate(this.doc, new Uint8Array(data.update), 'remote');
    });
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === 'remote') return;
      socket.emit('ydoc:document:update', {
        document_id: documentId,
        user_id: userId,
        socket_id: socket.id,
        update: Array.from(update),
        data: { content: { md: this.text, html: `<p>${this.text}</p>`, json: null } },
      });
    });
  }

  get text(): string {
    return this.doc.getText('body').toString();
  }

  join(): Promise<any> {
    return this.socket.emitWithAck('ydoc:document:join', { document_id: this.documentId, user_id: this.userId, user_name: this.userId, user_color: '#123456' });
  }
}

await describeRedis('socket.io notes: two instances, the original protocol and a y-websocket client on one document', (server) => {
  let a: TestRuntime;
  let b: TestRuntime;
  const sockets: Socket[] = [];
  const providers: Client[] = [];
  const noteId = randomUUID();
  const docId = `note:${noteId}`;
  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const p of providers) p.destroy();
    await Promise.all([a?.runtime.stop(), b?.runtime.stop()]);
  });

  const sio = async (t: TestRuntime, id: string) => {
    const s = await sioConnect(t.runtime.port, await originalToken(TEST_SECRET, id));
    sockets.push(s);
    return s;
  };

  let olivia: NoteClient;
  let oscar: NoteClient;

  it('starts two instances and creates the note (owner olivia, writer oscar, reader rita)', async () => {
    // One SQLite file under one DATA_DIR for both instances (SPEC §3, cluster mode on one machine).
    const dataDir = mkdtempSync(join(tmpdir(), 'swy-notes-cluster-'));
    const config = { coordination: 'redis', redisUrl: server.url, redisKeyPrefix: randomPrefix(), presence: FAST_PRESENCE, dataDir };
    a = await startRuntime(config);
    b = await startRuntime(config);
    const created = await createDoc(a.runtime, 'olivia', { id: docId, access: { write: ['oscar'], read: ['rita'] } });
    assert.equal(created.status, 201);
  });

  it('join-note joins note:<id> for readers of the document and refuses others', async () => {
    const s = await sio(a, 'rita');
    assert.deepEqual(await s.emitWithAck('join-note', { note_id: noteId, auth: { token: await originalToken(TEST_SECRET, 'rita') } }), { room: `note:${noteId}` });
    const m = await sio(b, 'mallory');
    const refused = await m.emitWithAck('join-note', { note_id: noteId, auth: { token: await originalToken(TEST_SECRET, 'mallory') } });
    assert.equal(refused.error.code, 'SWY_FORBIDDEN');
    const notMember = await m.emitWithAck('ydoc:document:join', { document_id: docId, user_id: 'mallory' });
    assert.equal(notMember.error.code, 'SWY_FORBIDDEN');
  });

  it('join answers the full state ([0,0] when empty) and the sessions of every instance; the lowest id seeds the empty note', async () => {
    olivia = new NoteClient(await sio(a, 'olivia'), docId, 'olivia', 'Hello from the original client');
    oscar = new NoteClient(await sio(b, 'oscar'), docId, 'oscar', 'Hello from the original client');
    // Both join before either seeds: the seeding rule needs both ids in the list.
    const [ja, jb] = await Promise.all([olivia.join(), oscar.join()]);
    for (const j of [ja, jb]) assert.equal(j.document_id, docId);
    for (const c of [olivia, oscar]) {
      const first = await c.inbox.next('ydoc:document:state');
      assert.deepEqual(first.state, [0, 0], 'an empty document is [0,0]');
      assert.equal(first.document_id, docId);
    }
    const both = [olivia.socket.id!, oscar.socket.id!].sort();
    // The later of the two joins sees both sessions, whichever instance answered.
    const later = ja.sessions.length === 2 ? ja : jb;
    assert.deepEqual(later.sessions, both);
    olivia.armed = true;
    oscar.armed = true;
    const again = await Promise.all([olivia, oscar].map((c) => c.socket.emitWithAck('ydoc:document:state', { document_id: docId })));
    for (const s of again) assert.deepEqual(s.sessions, both, 'both instances agree on the session list');
    await waitFor(() => olivia.seeded || oscar.seeded, { what: 'a seed' });
    assert.equal(olivia.seeded && oscar.seeded, false, 'exactly one client seeds');
    assert.equal((olivia.seeded ? olivia : oscar).socket.id, both[0], 'the lowest id seeds');
    await waitFor(() => olivia.text === 'Hello from the original client' && oscar.text === olivia.text, { what: 'seed on both' });
  });

  it('updates as byte arrays converge with a stock y-websocket client on /doc/<id>; GET /api/docs shows the text', async () => {
    const yws = await Client.open(b.runtime.port, docId, 'oscar');
    providers.push(yws);
    await waitFor(() => yws.text.toString() === 'Hello from the original client', { what: 'y-websocket got the seed' });
    olivia.doc.getText('body').insert(olivia.text.length, ' / olivia');
    yws.text.insert(0, '[yws] ');
    const expected = '[yws] Hello from the original client / olivia';
    await waitFor(() => olivia.text === expected && oscar.text === expected && yws.text.toString() === expected, {
      what: `convergence (olivia=${olivia.text}, oscar=${oscar.text}, yws=${yws.text.toString()})`,
      timeoutMs: 8_000,
    });
    for (const t of [a, b]) {
      const read = await getDoc(t.runtime, 'rita');
      await waitFor(async () => (await read(docId)).json.text?.body === expected, { what: 'GET /api/docs text' });
    }
    // A relay never comes back to its sender.
    assert.equal(olivia.inbox.of('ydoc:document:update').filter((u) => u.socket_id === olivia.socket.id).length, 0);
  });

  it('a content-only update is relayed and kept with the document', async () => {
    const content = { md: '# Title', html: '<h1>Title</h1>', json: { type: 'doc' } };
    assert.deepEqual(await oscar.socket.emitWithAck('ydoc:document:update', { document_id: docId, user_id: 'oscar', socket_id: oscar.socket.id, data: { content } }), {});
    const relayed = await olivia.inbox.next('ydoc:document:update', (u) => u.update === undefined);
    assert.deepEqual(relayed, { document_id: docId, user_id: 'oscar', socket_id: oscar.socket.id, data: { content } });
    const read = await getDoc(b.runtime, 'oscar');
    assert.deepEqual((await read(docId)).json.content, content);
  });

  it('awareness bytes are relayed opaquely to the other sockets (JSON arrays and binary attachments)', async () => {
    const bytes = Array.from(new TextEncoder().encode(JSON.stringify({ cursor: 3, user: 'olivia' })));
    assert.deepEqual(await olivia.socket.emitWithAck('ydoc:awareness:update', { document_id: docId, user_id: 'olivia', update: bytes }), {});
    const got = await oscar.inbox.next('ydoc:awareness:update');
    assert.deepEqual(got.update, bytes);
    assert.equal(got.user_id, 'olivia');
    // A Uint8Array travels as a Socket.IO BINARY_EVENT attachment; it is relayed as the same bytes.
    await oscar.socket.emitWithAck('ydoc:awareness:update', { document_id: docId, user_id: 'oscar', update: new Uint8Array([7, 8, 9]) });
    const bin = await olivia.inbox.next('ydoc:awareness:update', (u) => u.user_id === 'oscar');
    assert.deepEqual(bin.update, [7, 8, 9]);
    await sleep(100);
    assert.equal(olivia.inbox.of('ydoc:awareness:update').filter((u) => u.user_id === 'olivia').length, 0, 'not echoed to the sender');
  });

  it("a reader's update and malformed arrays are refused for that socket with an error; the document is unchanged", async () => {
    const before = olivia.text;
    const rita = new NoteClient(await sio(b, 'rita'), docId, 'rita', 'never');
    await rita.join();
    await waitFor(() => rita.text === before, { what: 'reader got the state' });
    const edit = new Y.Doc();
    Y.applyUpdate(edit, Y.encodeStateAsUpdate(olivia.doc));
    edit.getText('body').insert(0, 'EVIL ');
    const evil = Array.from(Y.encodeStateAsUpdate(edit, Y.encodeStateVector(olivia.doc)));
    const refused = await rita.socket.emitWithAck('ydoc:document:update', { document_id: docId, user_id: 'rita', update: evil });
    assert.equal(refused.error.code, 'SWY_FORBIDDEN');

    const send = (update: unknown) => olivia.socket.emitWithAck('ydoc:document:update', { document_id: docId, user_id: 'olivia', update });
    const valid = evil;
    for (const [what, update, code] of [
      ['a value over 255', [...valid.slice(0, 4), 256], 'SWY_DOC_INVALID_MESSAGE'],
      ['a negative value', [-1, 0], 'SWY_DOC_INVALID_MESSAGE'],
      ['a non-integer', [1.5, 0], 'SWY_DOC_INVALID_MESSAGE'],
      ['a string element', ['a'], 'SWY_DOC_INVALID_MESSAGE'],
      ['not an array', 'AAEC', 'SWY_DOC_INVALID_MESSAGE'],
      ['a truncated Yjs update', valid.slice(0, Math.floor(valid.length / 2)), 'SWY_DOC_INVALID_MESSAGE'],
      ['an array over the payload limit', new Array(1_048_577).fill(0), null],
    ] as const) {
      if (code === null) {
        // Bigger than the frame limit: the socket is closed (1009) — the client reconnects, the document is untouched.
        const big = await sio(a, 'olivia');
        await big.emitWithAck('ydoc:document:join', { document_id: docId, user_id: 'olivia' });
        const dropped = new Promise<string>((resolve) => big.once('disconnect', (reason) => resolve(reason)));
        big.emit('ydoc:document:update', { document_id: docId, update });
        assert.match(await dropped, /transport (close|error)/, what);
        big.disconnect();
        continue;
      }
      const reply = await send(update);
      assert.equal(reply.error?.code, code, what);
    }
    await sleep(200);
    for (const c of [olivia, oscar]) assert.equal(c.text, before, 'nothing reached the document');
    const read = await getDoc(a.runtime, 'olivia');
    assert.equal((await read(docId)).json.text.body, before);
    rita.socket.disconnect();
  });

  it('leave and disconnect drop the socket from the sessions on every instance', async () => {
    assert.deepEqual(await oscar.socket.emitWithAck('ydoc:document:leave', { document_id: docId, user_id: 'oscar' }), {});
    const afterLeave = await olivia.socket.emitWithAck('ydoc:document:state', { document_id: docId });
    assert.equal(afterLeave.sessions.includes(oscar.socket.id), false);
    assert.ok(afterLeave.sessions.includes(olivia.socket.id));
    const refused = await oscar.socket.emitWithAck('ydoc:document:update', { document_id: docId, update: [0, 0] });
    assert.equal(refused.error.code, 'SWY_BAD_REQUEST', 'a socket that left sends no updates');
    const watcher = new NoteClient(await sio(b, 'oscar'), docId, 'oscar', 'x');
    await watcher.join();
    const oliviaId = olivia.socket.id;
    olivia.socket.disconnect();
    await waitFor(async () => !(await watcher.socket.emitWithAck('ydoc:document:state', { document_id: docId })).sessions.includes(oliviaId), {
      what: 'disconnect left the document',
    });
  });
  it('y-websocket edits reach note sockets through each instance\'s actor: nothing on the bus, none while no note socket is in', async () => {
    const quiet = `note:${randomUUID()}`;
    assert.equal((await createDoc(a.runtime, 'olivia', { id: quiet, access: { write: ['oscar'] } })).status, 201);
    const raw = new Redis(server.url);
    const noteFrames: string[] = [];
    raw.on('pmessage', (_pattern: string, channel: string) => {
      if (channel.includes(`ydoc:${quiet}`)) noteFrames.push(channel);
    });
    await raw.psubscribe('*');
    try {
      const [ya, yb] = [await Client.open(a.runtime.port, quiet, 'olivia'), await Client.open(b.runtime.port, quiet, 'oscar')];
      providers.push(ya, yb);
      ya.text.insert(0, 'one ');
      yb.text.insert(0, 'two ');
      await waitFor(() => ya.text.length === 8 && yb.text.toString() === ya.text.toString(), { what: 'y-websocket convergence' });
      await sleep(200);
      assert.deepEqual(noteFrames, [], 'no note relay published while the document has no note socket');
      // A note socket on A gets B's y-websocket edit from A's actor (which applied it from the log), still without the bus.
      const nora = new NoteClient(await sio(a, 'oscar'), quiet, 'oscar', 'unused seed');
      await nora.join();
      await nora.inbox.next('ydoc:document:state');
      yb.text.insert(0, 'three ');
      const relayed = await nora.inbox.next('ydoc:document:update', (u) => u.document_id === quiet && Array.isArray(u.update));
      assert.equal(relayed.socket_id, null);
      assert.equal(relayed.user_id, null, 'made on another instance: the applying actor does not know the user');
      await waitFor(() => nora.text.startsWith('three '), { what: 'note socket has the y-websocket edit' });
      ya.text.insert(0, 'four ');
      const local = await nora.inbox.next('ydoc:document:update', (u) => u.document_id === quiet && u.user_id === 'olivia');
      assert.equal(local.socket_id, null);
      await waitFor(() => nora.text.startsWith('four three '), { what: 'note socket has the local y-websocket edit' });
      await sleep(200);
      assert.deepEqual(noteFrames, [], 'y-websocket edits never travel as note relays on the bus');
    } finally {
      raw.disconnect();
    }
  });
});
