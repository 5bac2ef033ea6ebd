import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { TokenService } from '../src/auth/tokens.js';
import { TestClient } from './helpers/gateway.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { FAST_PRESENCE, startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { Inbox, originalToken, sioConnect } from './helpers/socketio.js';
import { sleep } from './helpers/wait.js';

const tokens = new TokenService(TEST_SECRET);

await describeRedis('socket.io dialect: two instances on one Redis, with /ws sockets', (server) => {
  let a: TestRuntime;
  let b: TestRuntime;
  const sockets: Socket[] = [];
  const clients: TestClient[] = [];
  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const c of clients) c.terminate();
    await Promise.all([a?.runtime.stop(), b?.runtime.stop()]);
  });

  const wsClient = async (t: TestRuntime, sub: string) => {
    const c = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub })}` });
    clients.push(c);
    return c;
  };
  const sio = async (t: TestRuntime, id: string) => {
    const s = await sioConnect(t.runtime.port, await originalToken(TEST_SECRET, id));
    sockets.push(s);
    return s;
  };

  it('starts two instances sharing one prefix', async () => {
    const config = { coordination: 'redis', redisUrl: server.url, redisKeyPrefix: randomPrefix(), presence: FAST_PRESENCE };
    a = await startRuntime(config);
    b = await startRuntime(config);
  });

  it('events:channel flows both ways between a Socket.IO socket on A and a /ws socket on B, never back to the sender', async () => {
    const carol = await sio(a, 'carol');
    const carolInbox = new Inbox(carol);
    for (const user of ['carol', 'dave']) await a.runtime.coordination.roomMembers.add('channel:general', user); // members-only rooms (issue 13 #2)
    assert.deepEqual(await carol.emitWithAck('join-channels', { auth: { token: await originalToken(TEST_SECRET, 'carol') }, channel_ids: ['general'] }), {
      channels: ['general'],
    });
    const dave = await wsClient(b, 'dave');
    assert.deepEqual((await dave.request('join', { room: 'channel:general' })).data, { room: 'channel:general' });
    await sleep(100); // the bus SUBSCRIBE of each room lands

    const message = { type: 'message', data: { content: 'hi from socket.io' } };
    assert.deepEqual(await carol.emitWithAck('events:channel', { channel_id: 'general', message_id: 'm1', data: message }), {});
    const got = await dave.waitFor((f) => f.event === 'events:channel', 'relay on B');
    assert.deepEqual(got.data, { channel_id: 'general', user_id: 'carol', data: message, message_id: 'm1' });

    assert.equal((await dave.request('events:channel', { channel_id: 'general', data: { type: 'typing', data: {} } })).error, undefined);
    const back = await carolInbox.next('events:channel');
    assert.deepEqual(back, { channel_id: 'general', user_id: 'dave', data: { type: 'typing', data: {} } });
    await sleep(200);
    assert.equal(carolInbox.of('events:channel').length, 1, 'the Socket.IO sender does not get its own message');
    assert.equal(dave.frames.filter((f) => f.event === 'events:channel').length, 1, 'the /ws sender does not get its own message');
  });

  it('POST /api/events on B reaches the target user on A over both dialects; a non-admin gets 403', async () => {
    const erinSio = await sio(a, 'erin');
    const erinInbox = new Inbox(erinSio);
    const erinWs = await wsClient(a, 'erin');
    const frank = await sio(a, 'frank');
    const frankInbox = new Inbox(frank);
    await sleep(100);
    const post = async (token: string, body: unknown) =>
      fetch(`http://127.0.0.1:${b.runtime.port}/api/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const data = { chat_id: 'c9', message_id: 'm9', data: { type: 'chat:completion', data: { content: 'Hello' } } };
    const denied = await post(await tokens.sign({ sub: 'erin' }), { room: 'user:erin', event: 'events', data });
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as any).error.code, 'SWY_FORBIDDEN');
    const ok = await post(await tokens.sign({ sub: 'backend', role: 'admin' }), { room: 'user:erin', event: 'events', data });
    assert.equal(ok.status, 200);
    assert.deepEqual(await erinInbox.next('events'), data);
    assert.deepEqual((await erinWs.waitFor((f) => f.event === 'events', 'events on /ws')).data, data);
    const bad = await post(await tokens.sign({ sub: 'backend', role: 'admin' }), { room: 'nowhere', event: 'events' });
    assert.equal(bad.status, 400);
    await sleep(200);
    assert.equal(frankInbox.of('events').length, 0, 'other users get nothing');
    assert.equal(erinInbox.of('events').length, 1, 'exactly once');
  });
});
