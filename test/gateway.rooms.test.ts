import './helpers/guard.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryCoordination } from '../src/coordination/memory/index.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { sleep, waitFor } from './helpers/wait.js';

describe('gateway: rooms on one instance', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      // A plugged-in check: note rooms only for their "owner" (id prefix = user id).
      authorizeRoom: (principal, room) => room.kind !== 'note' || room.id.startsWith(`${principal.userId}-`),
    });
  });
  after(() => gw.close());

  test('join/leave are checked: another user\'s user: room is refused, an admin may join it', async () => {
    const alice = await gw.connect('alice');
    const root = await gw.connect('root', { role: 'admin' });
    assert.equal((await alice.request('join', { room: 'user:bob' })).error?.code, 'SWY_FORBIDDEN');
    assert.deepEqual((await alice.request('join', { room: 'chat:42' })).data, { room: 'chat:42' });
    assert.deepEqual((await root.request('join', { room: 'user:bob' })).data, { room: 'user:bob' });
    assert.equal((await alice.request('join', { room: 'lobby' })).error?.code, 'SWY_BAD_REQUEST');
    assert.equal((await alice.request('join', {})).error?.code, 'SWY_BAD_REQUEST');
    assert.equal((await alice.request('leave', { room: 'user:alice' })).error?.code, 'SWY_BAD_REQUEST', 'a socket stays in its own user room');
    assert.deepEqual((await alice.request('leave', { room: 'chat:42' })).data, { room: 'chat:42' });
    alice.close();
    root.close();
  });

  test('the authorizeRoom hook decides chat/channel/note rooms', async () => {
    const alice = await gw.connect('alice');
    assert.equal((await alice.request('join', { room: 'note:bob-1' })).error?.code, 'SWY_FORBIDDEN');
    assert.deepEqual((await alice.request('join', { room: 'note:alice-1' })).data, { room: 'note:alice-1' });
    alice.close();
  });

  test('emitToRoom(user:<sub>) reaches every socket of that user and no one else', async () => {
    const a1 = await gw.connect('alice');
    const a2 = await gw.connect('alice');
    const b = await gw.connect('bob');
    await gw.gateway.emitToRoom('user:alice', 'task:status', { task_id: 't1', item_id: 'chat:1', status: 'created' });
    for (const c of [a1, a2]) {
      const f = await c.waitFor((x) => x.event === 'task:status');
      assert.deepEqual(f.data, { task_id: 't1', item_id: 'chat:1', status: 'created' });
    }
    await b.request('heartbeat');
    assert.equal(b.events('task:status').length, 0);
    for (const c of [a1, a2, b]) c.close();
  });

  test("a user room reaches its own sockets (no native topic) and an admin who joined it (the topic), each once", async () => {
    const a1 = await gw.connect('alice');
    const a2 = await gw.connect('alice');
    const root = await gw.connect('root', { role: 'admin' });
    assert.deepEqual((await root.request('join', { room: 'user:alice' })).data, { room: 'user:alice' });
    await gw.gateway.emitToRoom('user:alice', 'task:status', { n: 1 });
    await gw.gateway.emitToRoom('user:root', 'task:status', { n: 2 });
    for (const c of [a1, a2]) await c.waitFor((x) => x.event === 'task:status' && x.data.n === 1);
    await root.waitFor((x) => x.event === 'task:status' && x.data.n === 2);
    assert.deepEqual((await root.request('leave', { room: 'user:alice' })).data, { room: 'user:alice' });
    a2.close();
    await waitFor(() => gw.gateway.connectionCount() === 2, { what: 'a2 closed' });
    await gw.gateway.emitToRoom('user:alice', 'task:status', { n: 3 });
    await a1.waitFor((x) => x.event === 'task:status' && x.data.n === 3);
    await root.request('heartbeat');
    assert.deepEqual(a1.events('task:status').map((f) => f.data.n), [1, 3], 'once each');
    assert.deepEqual(a2.events('task:status').map((f) => f.data.n), [1]);
    assert.deepEqual(root.events('task:status').map((f) => f.data.n), [1, 2], 'nothing after leaving');
    for (const c of [a1, root]) c.close();
  });

  test('events:channel reaches the other members, not the sender; a non-member is refused', async () => {
    const alice = await gw.connect('alice');
    const bob = await gw.connect('bob');
    const carol = await gw.connect('carol');
    const outsider = await gw.connect('dave');
    for (const c of [alice, bob, carol]) await c.request('join', { room: 'channel:general' });

    const sent = await alice.request('events:channel', { channel_id: 'general', data: { type: 'typing' } });
    assert.deepEqual(sent.data, {});
    for (const c of [bob, carol]) {
      const f = await c.waitFor((x) => x.event === 'events:channel');
      assert.deepEqual(f.data, { channel_id: 'general', user_id: 'alice', data: { type: 'typing' } });
    }
    const refused = await outsider.request('events:channel', { channel_id: 'general', data: { type: 'spam' } });
    assert.equal(refused.error?.code, 'SWY_FORBIDDEN');
    await Promise.all([alice, bob, carol].map((c) => c.request('heartbeat')));
    assert.equal(alice.events('events:channel').length, 0, 'the sender does not get its own relay');
    assert.equal(bob.events('events:channel').length, 1, 'the spam never arrived');
    for (const c of [alice, bob, carol, outsider]) c.close();
  });

  test('join then send in back-to-back frames works: frames of a socket are handled in order', async () => {
    const alice = await gw.connect('alice');
    const bob = await gw.connect('bob');
    await bob.request('join', { room: 'channel:fast' });
    alice.sendRaw(JSON.stringify({ event: 'join', data: { room: 'channel:fast' } }));
    alice.sendRaw(JSON.stringify({ event: 'events:channel', data: { channel_id: 'fast', data: 1 }, ack: 1 }));
    assert.equal((await alice.waitFor((f) => f.ack === 1)).error, undefined);
    await bob.waitFor((f) => f.event === 'events:channel');
    alice.close();
    bob.close();
  });

  test('user-join as another user moves the socket: old rooms left, new user room joined', async () => {
    const socket = await gw.connect('alice');
    await socket.request('join', { room: 'chat:7' });
    const joined = await socket.request('user-join', { auth: { token: await gw.token('bob', { name: 'Bob' }) } });
    assert.deepEqual(joined.data, { id: 'bob', name: 'Bob' });
    await gw.gateway.emitToRoom('user:alice', 'task:status', { to: 'alice' });
    await gw.gateway.emitToRoom('chat:7', 'events', { to: 'chat' });
    await gw.gateway.emitToRoom('user:bob', 'task:status', { to: 'bob' });
    const got = await socket.waitFor((f) => f.event === 'task:status');
    assert.deepEqual(got.data, { to: 'bob' }, 'the first frame to arrive is bob\'s: alice\'s and the chat\'s never came');
    assert.equal(socket.events('events').length, 0);
    assert.equal((await socket.request('join', { room: 'user:alice' })).error?.code, 'SWY_FORBIDDEN');
    socket.close();
  });

  test('the bus carries a room only while this instance has a member in it', async () => {
    const bus = gw.coordination.bus;
    await waitFor(() => gw.gateway.connectionCount() === 0, { what: 'earlier sockets closed' });
    await waitFor(() => bus.topicCount() === 0, { what: 'no room subscriptions left' });
    const alice = await gw.connect('alice');
    await alice.request('heartbeat'); // the user room is subscribed before the first frame is handled
    assert.equal(bus.topicCount(), 1, 'room:user:alice');
    await alice.request('join', { room: 'chat:9' });
    assert.equal(bus.topicCount(), 2);
    await alice.request('leave', { room: 'chat:9' });
    await waitFor(() => bus.topicCount() === 1, { what: 'chat:9 unsubscribed when its last member left' });
    alice.close();
    await waitFor(() => bus.topicCount() === 0, { what: 'user room unsubscribed on close' });
  });
});

describe('gateway: rooms across two instances sharing one backend', () => {
  let a: TestGateway;
  let b: TestGateway;
  const coordination = createMemoryCoordination();
  before(async () => {
    a = await startGateway({ coordination, instanceId: 'inst-a' });
    b = await startGateway({ coordination, instanceId: 'inst-b' });
  });
  after(async () => {
    await a.close();
    await b.close();
    await coordination.close();
  });

  test('an event emitted to user:<sub> on A reaches that user\'s sockets on A and B, once each', async () => {
    const onA = await a.connect('alice');
    const onB = await b.connect('alice');
    const bobOnB = await b.connect('bob');
    await Promise.all([onA.request('heartbeat'), onB.request('heartbeat')]);
    await a.gateway.emitToRoom('user:alice', 'file:status', { file_id: 'f1', status: 'finished', progress: 100 });
    await onA.waitFor((f) => f.event === 'file:status');
    await onB.waitFor((f) => f.event === 'file:status');
    await sleep(50); // an echo from the bus would arrive by now
    assert.equal(onA.events('file:status').length, 1, 'A dropped its own echo from the bus');
    assert.equal(onB.events('file:status').length, 1);
    assert.equal(bobOnB.events('file:status').length, 0);
    for (const c of [onA, onB, bobOnB]) c.close();
  });

  test('events:channel relays across instances to every other member', async () => {
    const alice = await a.connect('alice');
    const bob = await b.connect('bob');
    const carol = await a.connect('carol');
    for (const user of ['alice', 'bob', 'carol']) await coordination.roomMembers.add('channel:x', user); // rooms are members-only by default
    for (const c of [alice, bob, carol]) await c.request('join', { room: 'channel:x' });
    await alice.request('events:channel', { channel_id: 'x', data: 'hello' });
    for (const c of [bob, carol]) {
      const f = await c.waitFor((x) => x.event === 'events:channel');
      assert.deepEqual(f.data, { channel_id: 'x', user_id: 'alice', data: 'hello' });
    }
    await sleep(50);
    assert.equal(alice.events('events:channel').length, 0);
    assert.equal(bob.events('events:channel').length, 1);
    assert.equal(carol.events('events:channel').length, 1);
    for (const c of [alice, bob, carol]) c.close();
  });

  test('/api/usage agrees on both instances', async () => {
    const alice = await a.connect('alice');
    const bob = await b.connect('bob');
    await alice.request('usage', { action: 'chat', model: 'm1', chat_id: 'c' });
    await bob.request('usage', { action: 'chat', model: 'm2', chat_id: 'd' });
    const token = await a.token('observer');
    const read = async (gw: TestGateway) =>
      (await fetch(`${gw.http}/api/usage`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
    const [fromA, fromB] = await Promise.all([read(a), read(b)]);
    assert.deepEqual(fromA, fromB);
    assert.deepEqual([...fromA.model_ids].sort(), ['m1', 'm2']);
    assert.equal(fromA.user_count, 2);
    alice.close();
    bob.close();
  });
});
