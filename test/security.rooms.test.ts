import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { TokenService } from '../src/auth/tokens.js';
import { MemoryRoomMembers } from '../src/coordination/memory/MemoryRoomMembers.js';
import { TestClient } from './helpers/gateway.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { Inbox, originalToken, sioConnect } from './helpers/socketio.js';
import { sleep, waitFor } from './helpers/wait.js';
import { roomMembersContract } from './security.members.contract.js';

const tokens = new TokenService(TEST_SECRET);

describe('room members (memory adapter): contract', () => {
  roomMembersContract(() => new MemoryRoomMembers());
});

describe('security: chat/channel rooms are members-only (issue 13 #2)', () => {
  let t: TestRuntime;
  const clients: TestClient[] = [];
  const sockets: Socket[] = [];
  before(async () => {
    t = await startRuntime();
  });
  after(async () => {
    for (const c of clients) c.terminate();
    for (const s of sockets) s.disconnect();
    await t.runtime.stop();
  });

  const http = () => `http://127.0.0.1:${t.runtime.port}`;
  const api = async (method: string, path: string, sub: string, role: 'user' | 'admin' = 'user') => {
    const res = await fetch(`${http()}${path}`, { method, headers: { authorization: `Bearer ${await tokens.sign({ sub, role })}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const member = (room: string, user: string) => api('PUT', `/api/rooms/${encodeURIComponent(room)}/members/${encodeURIComponent(user)}`, 'backend', 'admin');
  const ws = async (sub: string) => {
    const c = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub })}` });
    clients.push(c);
    return c;
  };
  const sio = async (id: string) => {
    const s = await sioConnect(t.runtime.port, await originalToken(TEST_SECRET, id));
    sockets.push(s);
    return s;
  };

  it('the members API is admin-only, takes chat:/channel: rooms only, and lists the members', async () => {
    const denied = await api('PUT', '/api/rooms/channel:api/members/mallory', 'mallory');
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'SWY_FORBIDDEN');
    assert.equal((await api('GET', '/api/rooms/channel:api/members', 'mallory')).body.error.code, 'SWY_FORBIDDEN');
    assert.deepEqual((await member('channel:api', 'alice')).body, { room: 'channel:api', user: 'alice', member: true, added: true });
    assert.equal((await member('channel:api', 'alice')).body.added, false);
    for (const room of ['user:alice', 'note:n1', 'lobby']) {
      const bad = await member(room, 'alice');
      assert.equal(bad.status, 400, room);
      assert.equal(bad.body.error.code, 'SWY_BAD_REQUEST');
    }
    assert.deepEqual((await api('GET', '/api/rooms/channel:api/members', 'backend', 'admin')).body, { room: 'channel:api', members: ['alice'] });
    const removed = await api('DELETE', '/api/rooms/channel:api/members/alice', 'backend', 'admin');
    assert.deepEqual(removed.body, { room: 'channel:api', user: 'alice', member: false, removed: true });
    assert.deepEqual((await api('GET', '/api/rooms/channel:api/members', 'backend', 'admin')).body.members, []);
  });

  it('/ws attacker: B cannot join A\'s channel or chat, reads nothing, injects nothing', async () => {
    await member('channel:secret', 'alice');
    await member('channel:secret', 'carol');
    await member('chat:a-chat', 'alice');
    const alice = await ws('alice');
    const carol = await ws('carol');
    const bob = await ws('bob');
    assert.equal((await alice.request('join', { room: 'channel:secret' })).error, undefined);
    assert.equal((await carol.request('join', { room: 'channel:secret' })).error, undefined);
    assert.equal((await bob.request('join', { room: 'channel:secret' })).error?.code, 'SWY_FORBIDDEN');
    assert.equal((await bob.request('join', { room: 'chat:a-chat' })).error?.code, 'SWY_FORBIDDEN');
    assert.equal((await bob.request('events:channel', { channel_id: 'secret', data: 'injected' })).error?.code, 'SWY_FORBIDDEN');
    assert.equal((await bob.request('events:chat', { chat_id: 'a-chat', data: 'injected' })).error?.code, 'SWY_FORBIDDEN');
    assert.deepEqual((await bob.request('join-channels', { channel_ids: ['secret'] })).data, { channels: [] }, 'a listed channel of someone else is skipped');

    await alice.request('events:channel', { channel_id: 'secret', data: 'for members' });
    assert.equal((await carol.waitFor((f) => f.event === 'events:channel')).data.data, 'for members');
    await sleep(100);
    assert.equal(bob.events('events:channel').length, 0, 'the attacker read nothing');
    assert.equal(carol.events('events:channel').length, 1, 'no frame from the attacker reached a member');
    assert.equal(alice.events('events:channel').length + alice.events('events').length, 0);
  });

  it('Socket.IO attacker: the same refusals; join-channels joins only the user\'s own channels', async () => {
    await member('channel:sio-secret', 'alice');
    await member('channel:bobs', 'bob');
    const alice = await sio('alice');
    const aliceInbox = new Inbox(alice);
    const bob = await sio('bob');
    const bobInbox = new Inbox(bob);
    assert.deepEqual(await alice.emitWithAck('join-channels', {}), { channels: ['secret', 'sio-secret'] }, 'no list: every channel the user is a member of (secret: the test before)');
    assert.equal((await bob.emitWithAck('join', { room: 'channel:sio-secret' })).error.code, 'SWY_FORBIDDEN');
    assert.deepEqual(await bob.emitWithAck('join-channels', { channel_ids: ['sio-secret'] }), { channels: ['bobs'] });
    assert.equal((await bob.emitWithAck('events:channel', { channel_id: 'sio-secret', data: 'injected' })).error.code, 'SWY_FORBIDDEN');
    assert.equal((await bob.emitWithAck('events:chat', { chat_id: 'a-chat', data: 'injected' })).error.code, 'SWY_FORBIDDEN');
    const listener = await ws('alice'); // a /ws member sees what reaches the room
    await listener.request('join', { room: 'channel:sio-secret' });
    assert.deepEqual(await alice.emitWithAck('events:channel', { channel_id: 'sio-secret', data: 'hi' }), {});
    await listener.waitFor((f) => f.event === 'events:channel');
    await sleep(100);
    assert.equal(bobInbox.of('events:channel').length, 0, 'the attacker read nothing');
    assert.equal(listener.events('events:channel').length, 1, 'nothing of the attacker reached the room');
    assert.equal(aliceInbox.of('events:channel').length, 0);
  });

  it('removing a member makes their sockets leave the room at once, on both dialects', async () => {
    await member('channel:kick', 'dave');
    await member('channel:kick', 'erin');
    const daveWs = await ws('dave');
    const daveSio = await sio('dave');
    const daveInbox = new Inbox(daveSio);
    const erin = await ws('erin');
    await daveWs.request('join', { room: 'channel:kick' });
    await daveSio.emitWithAck('join-channels', {});
    await erin.request('join', { room: 'channel:kick' });
    const removed = await api('DELETE', '/api/rooms/channel:kick/members/dave', 'backend', 'admin');
    assert.equal(removed.body.removed, true);
    await erin.request('events:channel', { channel_id: 'kick', data: 'after removal' });
    await sleep(150);
    assert.equal(daveWs.events('events:channel').length, 0, '/ws socket no longer reads the room');
    assert.equal(daveInbox.of('events:channel').length, 0, 'Socket.IO socket no longer reads the room');
    assert.equal((await daveWs.request('events:channel', { channel_id: 'kick', data: 'x' })).error?.code, 'SWY_FORBIDDEN');
    assert.equal((await daveWs.request('join', { room: 'channel:kick' })).error?.code, 'SWY_FORBIDDEN');
  });

  it('an admin may join any room without being a member', async () => {
    const root = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub: 'root', role: 'admin' })}` });
    clients.push(root);
    assert.equal((await root.request('join', { room: 'channel:secret' })).error, undefined);
  });
});

describe('security: rooms.open keeps today\'s open rooms for single-tenant setups', () => {
  let t: TestRuntime;
  after(() => t?.runtime.stop());

  it('with rooms.open any signed-in user joins chat/channel rooms; user: rooms stay private', async () => {
    t = await startRuntime({ rooms: { open: true } });
    const c = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub: 'bob' })}` });
    try {
      assert.deepEqual((await c.request('join', { room: 'channel:anything' })).data, { room: 'channel:anything' });
      assert.equal((await c.request('join', { room: 'user:alice' })).error?.code, 'SWY_FORBIDDEN');
      await waitFor(() => t.runtime.gateway!.connectionCount() === 1, { what: 'socket counted' });
    } finally {
      c.terminate();
    }
  });
});

describe('security: a removal racing a join', () => {
  it('membership is confirmed once the join landed: a member removed meanwhile ends up outside the room', async () => {
    const { startGateway } = await import('./helpers/gateway.js');
    let checks = 0;
    // The first check (before the join) sees a member, the confirmation after it sees the removal.
    const gw = await startGateway({ authorizeRoom: () => ++checks === 1 });
    try {
      const c = await gw.connect('mia');
      assert.equal((await c.request('join', { room: 'channel:race' })).error?.code, 'SWY_FORBIDDEN');
      assert.equal(checks, 2);
      await gw.gateway.emitToRoom('channel:race', 'events:channel', { leaked: true });
      await c.request('heartbeat');
      await sleep(50);
      assert.equal(c.events('events:channel').length, 0, 'not in the room');
      assert.equal(gw.gateway.roomCount(), 1, 'only its user room is left');
    } finally {
      await gw.close();
    }
  });
});
