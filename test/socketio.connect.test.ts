import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Encoder, PacketType } from 'socket.io-parser';
import { SioDialect } from '../src/gateway/socketio/SioDialect.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { docToken } from './helpers/docs.js';
import { Inbox, RawEngine, connected, originalToken, sioConnect, sioSocket } from './helpers/socketio.js';
import { sleep, waitFor } from './helpers/wait.js';
import type { Socket } from 'socket.io-client';

describe('socket.io dialect: connect and auth', () => {
  let t: TestRuntime;
  let port: number;
  const sockets: Socket[] = [];
  const raws: RawEngine[] = [];
  before(async () => {
    t = await startRuntime({ presence: { usageTimeoutMs: 3_000 } });
    port = t.runtime.port;
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const r of raws) r.close();
    await t.runtime.stop();
  });

  const usage = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/usage`, { headers: { authorization: `Bearer ${await docToken('probe')}` } });
    return (await res.json()) as { model_ids: string[]; user_count: number };
  };

  it('the original client connects with its exact options and an original `id` token; user-join acks {id, name}', async () => {
    const socket = await sioConnect(port, await originalToken(TEST_SECRET, 'u-original'));
    sockets.push(socket);
    assert.equal(typeof socket.id, 'string');
    const ack = await socket.emitWithAck('user-join', { auth: { token: await originalToken(TEST_SECRET, 'u-original') } });
    assert.deepEqual(ack, { id: 'u-original', name: 'u-original' });
  });

  it("switchyard's own tokens (sub/name/role) work too, also from the upgrade's ?token= query", async () => {
    const own = await docToken('alice');
    const socket = await sioConnect(port, own);
    sockets.push(socket);
    assert.deepEqual(await socket.emitWithAck('user-join', { auth: { token: own } }), { id: 'alice', name: 'alice' });
    const raw = await RawEngine.open(port, `&token=${own}`);
    raws.push(raw);
    raw.send('40');
    assert.match(await raw.next((f) => f.startsWith('40')), /^40\{"sid":"[\w-]{20}"\}$/);
  });

  for (const [name, token] of [
    ['missing', async () => undefined],
    ['invalid', async () => 'not-a-jwt'],
    ['expired', async () => originalToken(TEST_SECRET, 'late', -10)],
    ['signed with another secret', async () => originalToken('another-secret-0123456789', 'mallory')],
  ] as const) {
    it(`a ${name} token is a connect_error with a coded message`, async () => {
      const socket = sioSocket(port, await token());
      sockets.push(socket);
      await assert.rejects(connected(socket), (err: Error & { data?: { code?: string } }) => {
        assert.match(err.message, /^SWY_UNAUTHORIZED: token (missing|invalid|expired)$/);
        assert.equal(err.data?.code, 'SWY_UNAUTHORIZED');
        return true;
      });
      assert.equal(socket.connected, false);
    });
  }

  it('no event runs before a CONNECT passed auth: usage sent around a refused CONNECT is never recorded', async () => {
    const raw = await RawEngine.open(port);
    raws.push(raw);
    const open = JSON.parse((await raw.next((f) => f.startsWith('0'))).slice(1));
    assert.equal(typeof open.sid, 'string');
    assert.deepEqual(open.upgrades, []);
    assert.equal(open.pingInterval, 25_000);
    assert.equal(open.pingTimeout, 20_000);
    assert.equal(typeof open.maxPayload, 'number');
    raw.send('42["usage",{"model":"before-connect"}]');
    raw.send(`40${JSON.stringify({ token: await originalToken(TEST_SECRET, 'x', -10) })}`);
    raw.send('421["usage",{"model":"after-refusal"}]');
    assert.match(await raw.next((f) => f.startsWith('44')), /SWY_UNAUTHORIZED: token expired/);
    await sleep(200);
    assert.equal(raw.frames.some((f) => f.startsWith('43')), false, 'no ack: the event did not run');
    assert.deepEqual((await usage()).model_ids.filter((m) => m.includes('connect') || m.includes('refusal')), []);
  });

  it('usage from a Socket.IO client shows in /api/usage and is swept after 3 s', async () => {
    const socket = await sioConnect(port, await originalToken(TEST_SECRET, 'streamer'));
    sockets.push(socket);
    assert.deepEqual(await socket.emitWithAck('usage', { action: 'chat', model: 'sio-model', chat_id: 'c1' }), {});
    assert.ok((await usage()).model_ids.includes('sio-model'));
    assert.deepEqual(await socket.emitWithAck('heartbeat', {}), {});
    await waitFor(async () => !(await usage()).model_ids.includes('sio-model'), { timeoutMs: 10_000, what: 'usage swept' });
  });

  it('bad events get a coded error for that caller only: ack error, or an `error` event without an ack', async () => {
    const socket = await sioConnect(port, await originalToken(TEST_SECRET, 'clumsy'));
    sockets.push(socket);
    const inbox = new Inbox(socket);
    assert.deepEqual(await socket.emitWithAck('no-such-event', {}), { error: { code: 'SWY_UNKNOWN_EVENT', message: 'unknown event "no-such-event"' } });
    socket.emit('usage', { model: 42 });
    const err = await inbox.next('error');
    assert.equal(err.code, 'SWY_BAD_REQUEST');
    assert.equal(socket.connected, true);
  });

  it('a packet socket.io-parser refuses ends that engine connection only', async () => {
    const raw = await RawEngine.open(port);
    raws.push(raw);
    raw.send(`40${JSON.stringify({ token: await originalToken(TEST_SECRET, 'p') })}`);
    await raw.next((f) => f.startsWith('40'));
    raw.send('42{not json');
    assert.equal((await raw.closed).code, 4400);
    const other = await sioConnect(port, await originalToken(TEST_SECRET, 'q'));
    sockets.push(other);
    assert.deepEqual(await other.emitWithAck('heartbeat', {}), {});
  });

  it('answers Engine.IO pings and pongs; a client DISCONNECT closes the socket and removes its session', async () => {
    const raw = await RawEngine.open(port);
    raws.push(raw);
    raw.send('2probe');
    assert.equal(await raw.next((f) => f.startsWith('3')), '3probe');
    raw.send(`40${JSON.stringify({ token: await originalToken(TEST_SECRET, 'leaver') })}`);
    await raw.next((f) => f.startsWith('40'));
    const before = (await usage()).user_count;
    raw.send('41');
    assert.equal((await raw.closed).code, 1000);
    await waitFor(async () => (await usage()).user_count === before - 1, { what: 'session removed' });
  });

  it('a polling handshake gets Engine.IO\'s "Transport unknown" (websocket transport is required)', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/ws/socket.io/?EIO=4&transport=polling&t=abc`);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { code: 0, message: 'Transport unknown' });
    const old = await fetch(`http://127.0.0.1:${port}/ws/socket.io/?EIO=3&transport=polling`);
    assert.equal(old.status, 400);
    assert.deepEqual(await old.json(), { code: 5, message: 'Unsupported protocol version' });
  });

  it('the hand-framed event and ack frames equal socket.io-parser\'s encoding', () => {
    const enc = new Encoder();
    const data = { chat_id: 'c', n: [1, 2, 3], s: 'ü"\n' };
    assert.equal(SioDialect.event(JSON.stringify('events'), JSON.stringify(data)), `4${enc.encode({ type: PacketType.EVENT, nsp: '/', data: ['events', data] })[0]}`);
    assert.equal(SioDialect.ack(7, data), `4${enc.encode({ type: PacketType.ACK, nsp: '/', id: 7, data: [data] })[0]}`);
  });
});

describe('socket.io dialect: events:chat, Engine.IO heartbeats and timeouts', () => {
  let t: TestRuntime;
  let port: number;
  const sockets: Socket[] = [];
  const raws: RawEngine[] = [];
  before(async () => {
    t = await startRuntime({ gateway: { socketioPingIntervalMs: 1_000, socketioPingTimeoutMs: 1_000, socketioConnectTimeoutMs: 1_000 } });
    port = t.runtime.port;
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const r of raws) r.close();
    await t.runtime.stop();
  });

  it("events:chat reaches the user's other sockets as `events` (both dialects), and the chat room once joined", async () => {
    const token = await originalToken(TEST_SECRET, 'chatter');
    const tab1 = await sioConnect(port, token);
    const tab2 = await sioConnect(port, token);
    sockets.push(tab1, tab2);
    const inbox2 = new Inbox(tab2);
    const inbox1 = new Inbox(tab1);
    // Chat rooms are members-only by default (issue 13 #2): the backend adds the members.
    const members = t.runtime.coordination.roomMembers;
    for (const [room, user] of [['chat:c1', 'chatter'], ['chat:c2', 'chatter'], ['chat:c2', 'peer']] as const) await members.add(room, user);
    assert.deepEqual(await tab1.emitWithAck('events:chat', { chat_id: 'c1', data: { type: 'typing' } }), {});
    assert.deepEqual(await inbox2.next('events'), { chat_id: 'c1', user_id: 'chatter', data: { type: 'typing' } });
    const other = await sioConnect(port, await originalToken(TEST_SECRET, 'peer'));
    sockets.push(other);
    const otherInbox = new Inbox(other);
    assert.deepEqual(await other.emitWithAck('join', { room: 'chat:c2' }), { room: 'chat:c2' });
    assert.deepEqual(await tab1.emitWithAck('join', { room: 'chat:c2' }), { room: 'chat:c2' });
    await tab1.emitWithAck('events:chat', { chat_id: 'c2', data: { type: 'typing' } });
    assert.deepEqual(await otherInbox.next('events'), { chat_id: 'c2', user_id: 'chatter', data: { type: 'typing' } });
    await sleep(100);
    assert.equal(inbox1.of('events').length, 0, 'not echoed to the sender');
  });

  it('socket.io-client answers the server pings and stays connected past several ping intervals', async () => {
    const socket = await sioConnect(port, await originalToken(TEST_SECRET, 'steady'));
    sockets.push(socket);
    let disconnected = false;
    socket.on('disconnect', () => (disconnected = true));
    await sleep(3_500);
    assert.equal(disconnected, false);
    assert.deepEqual(await socket.emitWithAck('heartbeat', {}), {});
  });

  it('a peer that stops answering pings is closed with 4408; one that never sends CONNECT with 4409', async () => {
    const silent = await RawEngine.open(port);
    const idle = await RawEngine.open(port);
    raws.push(silent, idle);
    silent.send(`40${JSON.stringify({ token: await originalToken(TEST_SECRET, 'silent') })}`);
    await silent.next((f) => f.startsWith('40'));
    assert.equal((await silent.closed).code, 4408);
    assert.ok(silent.frames.includes('2'), 'it was pinged');
    assert.equal((await idle.closed).code, 4409);
  });

  it('socket.io-client with [polling, websocket] does not fall back: it keeps failing on polling (websocket transport is required)', async () => {
    const { io } = await import('socket.io-client');
    const socket = io(`http://127.0.0.1:${port}`, { path: '/ws/socket.io', transports: ['polling', 'websocket'], auth: { token: await originalToken(TEST_SECRET, 'poller') }, reconnection: false });
    sockets.push(socket);
    await assert.rejects(connected(socket), /xhr poll error/);
  });
});

describe('socket.io dialect: one room, both dialects, one instance', () => {
  let t: TestRuntime;
  after(() => t?.runtime.stop());

  it('a /ws socket and a Socket.IO socket in one channel see each other (and senders never get their own)', async () => {
    t = await startRuntime();
    const { TestClient } = await import('./helpers/gateway.js');
    const ws = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await docToken('wsuser')}` });
    const sio = await sioConnect(t.runtime.port, await originalToken(TEST_SECRET, 'siouser'));
    const sio2 = await sioConnect(t.runtime.port, await originalToken(TEST_SECRET, 'siouser2'));
    try {
      const inbox = new Inbox(sio);
      const inbox2 = new Inbox(sio2);
      for (const user of ['wsuser', 'siouser', 'siouser2']) await t.runtime.coordination.roomMembers.add('channel:mix', user);
      assert.equal((await ws.request('join', { room: 'channel:mix' })).error, undefined);
      await sio.emitWithAck('join-channels', { channel_ids: ['mix'] });
      await sio2.emitWithAck('join-channels', { channel_ids: ['mix'] });
      await sio.emitWithAck('events:channel', { channel_id: 'mix', data: { type: 'message', data: 'from sio' } });
      assert.equal((await ws.waitFor((f) => f.event === 'events:channel', 'sio → ws')).data.data.data, 'from sio');
      assert.equal((await inbox2.next('events:channel')).data.data, 'from sio');
      await ws.request('events:channel', { channel_id: 'mix', data: { type: 'message', data: 'from ws' } });
      assert.equal((await inbox.next('events:channel', (d) => d.user_id === 'wsuser')).data.data, 'from ws');
      assert.equal((await inbox2.next('events:channel', (d) => d.user_id === 'wsuser')).data.data, 'from ws');
      await sleep(150);
      assert.equal(inbox.of('events:channel').filter((d) => d.user_id === 'siouser').length, 0);
      assert.equal(ws.frames.filter((f) => f.event === 'events:channel' && f.data.user_id === 'wsuser').length, 0);
      assert.equal(t.runtime.gateway!.connectionCount(), 3, 'both dialects count as connections');
      // The original system's `id` tokens open /ws too (SPEC §4.1, both dialects).
      const original = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws?token=${await originalToken(TEST_SECRET, 'u-42')}`);
      assert.deepEqual((await original.request('user-join', { auth: { token: await originalToken(TEST_SECRET, 'u-42') } })).data, { id: 'u-42', name: 'u-42' });
      original.terminate();
    } finally {
      ws.terminate();
      sio.disconnect();
      sio2.disconnect();
    }
  });
});
