import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import { TokenService } from '../src/auth/tokens.js';
import { RedisKeys } from '../src/coordination/redis/RedisKeys.js';
import { RedisRoomMembers } from '../src/coordination/redis/RedisRoomMembers.js';
import { TestClient } from './helpers/gateway.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { FAST_PRESENCE, startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { Inbox, originalToken, sioConnect } from './helpers/socketio.js';
import { sleep } from './helpers/wait.js';
import { roomMembersContract } from './security.members.contract.js';

const tokens = new TokenService(TEST_SECRET);

await describeRedis('security: room membership on Redis, two instances (issue 13 #2)', (server) => {
  describe('room members (Redis adapter): contract', () => {
    let redis: Redis;
    before(() => {
      redis = new Redis(server.url);
    });
    after(() => redis.quit());
    roomMembersContract(() => new RedisRoomMembers(redis, new RedisKeys(randomPrefix())));
  });

  describe('two instances', () => {
    let a: TestRuntime;
    let b: TestRuntime;
    const clients: TestClient[] = [];
    const sockets: Socket[] = [];
    before(async () => {
      const config = { coordination: 'redis', redisUrl: server.url, redisKeyPrefix: randomPrefix(), presence: FAST_PRESENCE };
      a = await startRuntime(config);
      b = await startRuntime(config);
    });
    after(async () => {
      for (const c of clients) c.terminate();
      for (const s of sockets) s.disconnect();
      await Promise.all([a?.runtime.stop(), b?.runtime.stop()]);
    });

    const admin = async (t: TestRuntime, method: string, path: string) => {
      const res = await fetch(`http://127.0.0.1:${t.runtime.port}${path}`, { method, headers: { authorization: `Bearer ${await tokens.sign({ sub: 'backend', role: 'admin' })}` } });
      return (await res.json()) as any;
    };
    const ws = async (t: TestRuntime, sub: string) => {
      const c = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub })}` });
      clients.push(c);
      return c;
    };

    it('a member set on A admits on B; the attacker on B is refused on both dialects and sees nothing', async () => {
      await admin(a, 'PUT', '/api/rooms/channel:team/members/alice');
      await admin(a, 'PUT', '/api/rooms/channel:team/members/carol');
      assert.deepEqual((await admin(b, 'GET', '/api/rooms/channel:team/members')).members, ['alice', 'carol'], 'every instance agrees');
      const alice = await ws(a, 'alice');
      const carol = await ws(b, 'carol');
      const bobWs = await ws(b, 'bob');
      const bobSio = await sioConnect(b.runtime.port, await originalToken(TEST_SECRET, 'bob'));
      sockets.push(bobSio);
      const bobInbox = new Inbox(bobSio);
      assert.equal((await alice.request('join', { room: 'channel:team' })).error, undefined);
      assert.equal((await carol.request('join', { room: 'channel:team' })).error, undefined);
      assert.equal((await bobWs.request('join', { room: 'channel:team' })).error?.code, 'SWY_FORBIDDEN');
      assert.equal((await bobSio.emitWithAck('join', { room: 'channel:team' })).error.code, 'SWY_FORBIDDEN');
      assert.deepEqual(await bobSio.emitWithAck('join-channels', { channel_ids: ['team'] }), { channels: [] });
      assert.equal((await bobWs.request('events:channel', { channel_id: 'team', data: 'injected' })).error?.code, 'SWY_FORBIDDEN');
      assert.equal((await bobSio.emitWithAck('events:channel', { channel_id: 'team', data: 'injected' })).error.code, 'SWY_FORBIDDEN');
      await sleep(100); // bus SUBSCRIBEs land
      await alice.request('events:channel', { channel_id: 'team', data: 'across' });
      assert.equal((await carol.waitFor((f) => f.event === 'events:channel', 'relay on B')).data.data, 'across');
      await sleep(150);
      assert.equal(bobWs.events('events:channel').length, 0);
      assert.equal(bobInbox.of('events:channel').length, 0);
      assert.equal(carol.events('events:channel').length, 1, 'nothing injected');
    });

    it('a removal on A makes the member\'s socket on B leave the room', async () => {
      await admin(a, 'PUT', '/api/rooms/channel:kick/members/dave');
      await admin(a, 'PUT', '/api/rooms/channel:kick/members/erin');
      const dave = await ws(b, 'dave');
      const erin = await ws(a, 'erin');
      await dave.request('join', { room: 'channel:kick' });
      await erin.request('join', { room: 'channel:kick' });
      await sleep(100);
      await erin.request('events:channel', { channel_id: 'kick', data: 'before' });
      await dave.waitFor((f) => f.event === 'events:channel' && f.data.data === 'before');
      assert.equal((await admin(a, 'DELETE', '/api/rooms/channel:kick/members/dave')).removed, true);
      await sleep(200); // the control frame reaches B
      assert.equal((await dave.request('events:channel', { channel_id: 'kick', data: 'x' })).error?.code, 'SWY_FORBIDDEN', 'B dropped the socket from the room');
      await erin.request('events:channel', { channel_id: 'kick', data: 'after' });
      await sleep(200);
      assert.equal(dave.events('events:channel').filter((f) => f.data.data === 'after').length, 0);
    });
  });
});
