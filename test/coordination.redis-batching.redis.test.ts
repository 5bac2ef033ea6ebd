import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Redis } from 'ioredis';
import { coalesceWrites } from '../src/coordination/redis/connection.js';
import { createRedisCoordination } from '../src/coordination/redis/index.js';
import { BackendUnavailableError } from '../src/errors.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const session = (sid: string) => ({ sid, userId: `u-${sid}`, name: sid, role: 'user' as const, instanceId: 'i1', connectedAt: 1, lastSeenAt: 1 });

// Hot-path commands of one event-loop turn (or touch window) go out as one command (issue 14); each caller keeps its own answer.
await describeRedis(
  'redis coordination: per-turn pipelines',
  (server) => {
    it('the commands of one turn on a coalescing client leave as one socket write, each answered in order', async () => {
      const client = new Redis(server.url);
      try {
        coalesceWrites(client);
        await client.ping();
        const key = `${randomPrefix()}:n`;
        let writes = 0;
        const stream = client.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
        for (const method of ['_write', '_writev'] as const) {
          const original = stream[method]!.bind(stream);
          stream[method] = (...args) => {
            writes += 1;
            original(...args);
          };
        }
        const replies = await Promise.all(Array.from({ length: 50 }, () => client.incr(key)));
        assert.deepEqual(replies, Array.from({ length: 50 }, (_, i) => i + 1));
        assert.equal(writes, 1);
        assert.equal(await client.get(key), '50', 'a later turn writes again');
        assert.equal(writes, 2);
      } finally {
        client.disconnect();
      }
    });

    it('touches issued in one turn each get their own answer, known and unknown sessions mixed', async () => {
      const coord = await createRedisCoordination({ url: server.url, keyPrefix: randomPrefix() });
      try {
        await Promise.all(['a', 'b', 'c'].map((sid) => coord.sessions.upsert(session(sid))));
        const sids = ['a', 'x', 'b', 'y', 'c'];
        const touched = await Promise.all(sids.map((sid, i) => coord.sessions.touch(sid, 1_000 + i)));
        assert.deepEqual(touched, [true, false, true, false, true]);
        assert.equal((await coord.sessions.get('c'))?.lastSeenAt, 1_004, 'the touch was applied, not only answered');
        assert.equal(await coord.sessions.get('x'), null, 'a touch never creates a session');
      } finally {
        await coord.close();
      }
    });

    it('a session is written at most once a second; an unknown one is asked again at once', async () => {
      const coord = await createRedisCoordination({ url: server.url, keyPrefix: randomPrefix() });
      try {
        await coord.sessions.upsert(session('a'));
        assert.equal(await coord.sessions.touch('a', 10_000), true);
        assert.equal(await coord.sessions.touch('a', 10_500), true, 'answered from the last touch');
        assert.equal((await coord.sessions.get('a'))?.lastSeenAt, 10_000, 'not written within the second');
        assert.equal(await coord.sessions.touch('a', 11_000), true);
        assert.equal((await coord.sessions.get('a'))?.lastSeenAt, 11_000, 'written again after it');
        // Swept by another instance meanwhile: the next touch after the second says so.
        await coord.sessions.sweepIdle(20_000, 10);
        assert.equal(await coord.sessions.touch('a', 11_200), true, 'within the second: not asked');
        assert.equal(await coord.sessions.touch('a', 12_100), false, 'after it: unknown');
        await coord.sessions.upsert({ ...session('a'), lastSeenAt: 12_100 });
        assert.equal(await coord.sessions.touch('a', 12_200), true, 'an unknown answer is not cached: asked again, known again');
        assert.equal((await coord.sessions.get('a'))?.lastSeenAt, 12_200);
        // A removed session's next touch goes to Redis (the throttle forgets it).
        await coord.sessions.remove('a');
        assert.equal(await coord.sessions.touch('a', 12_300), false);
      } finally {
        await coord.close();
      }
    });

    it('a window of more touches than one script call takes (1,200 sessions) still answers each', async () => {
      const coord = await createRedisCoordination({ url: server.url, keyPrefix: randomPrefix() });
      try {
        const known = Array.from({ length: 1_200 }, (_, i) => `s${i}`);
        await Promise.all(known.map((sid) => coord.sessions.upsert(session(sid))));
        const sids = [...known, 'nope-1', 'nope-2'];
        const touched = await Promise.all(sids.map((sid) => coord.sessions.touch(sid, 7_000)));
        assert.deepEqual(touched, sids.map((sid) => !sid.startsWith('nope')));
        assert.equal((await coord.sessions.get('s1199'))?.lastSeenAt, 7_000);
        assert.equal((await coord.sessions.get('s0'))?.lastSeenAt, 7_000);
      } finally {
        await coord.close();
      }
    });

    it('frames of one topic published in one turn go out as one message per 64 KB, header once, in order', async () => {
      const keyPrefix = randomPrefix();
      const coord = await createRedisCoordination({ url: server.url, keyPrefix });
      const raw = new Redis(server.url);
      try {
        const messages: string[] = [];
        raw.on('message', (_channel: string, message: string) => messages.push(message));
        await raw.subscribe(`${keyPrefix}:room:r`);
        const small = Array.from({ length: 100 }, (_, i) => `\n${i}`);
        await Promise.all(small.map((f) => coord.bus.publishFrame('room:r', 'origin', f)));
        await waitFor(() => messages.length >= 1, { what: 'the merged message' });
        assert.deepEqual(messages, [`origin${small.join('')}`]);
        messages.length = 0;
        const big = Array.from({ length: 100 }, (_, i) => `\n${String(i).padEnd(1_000, '.')}`);
        await Promise.all(big.map((f) => coord.bus.publishFrame('room:r', 'origin', f)));
        await waitFor(() => messages.join('').length >= 100 * 1_001, { what: 'every frame' });
        assert.equal(messages.length, 2, 'a merged message stops growing at 64 KB');
        assert.ok(messages.every((m) => m.startsWith('origin\n')));
        assert.equal(messages.map((m) => m.slice('origin'.length)).join(''), big.join(''));
      } finally {
        raw.disconnect();
        await coord.close();
      }
    });

    it('publishes issued in one turn arrive once each, in order', async () => {
      const coord = await createRedisCoordination({ url: server.url, keyPrefix: randomPrefix() });
      try {
        const got: string[] = [];
        await coord.bus.subscribe('t', (payload) => got.push(payload));
        const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
        await Promise.all(sent.map((m) => coord.bus.publish('t', m)));
        await waitFor(() => got.length >= sent.length, { what: 'every publish delivered' });
        assert.deepEqual(got, sent);
      } finally {
        await coord.close();
      }
    });

    it('with Redis down, every command of a batch fails as BACKEND_UNAVAILABLE (none hangs, none is unhandled)', async () => {
      const coord = await createRedisCoordination({ url: server.url, keyPrefix: randomPrefix(), commandTimeoutMs: 1_000 });
      try {
        await coord.sessions.upsert(session('a'));
        await server.kill();
        const raw = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        raw.on('error', () => {});
        await waitFor(async () => !(await raw.connect().then(() => true, () => false)), { what: 'Redis down' });
        const results = await Promise.allSettled([coord.sessions.touch('a', 5), coord.bus.publish('t', 'x'), coord.sessions.touch('b', 5)]);
        for (const r of results) {
          assert.equal(r.status, 'rejected');
          assert.ok((r as PromiseRejectedResult).reason instanceof BackendUnavailableError, String((r as PromiseRejectedResult).reason));
        }
        raw.disconnect();
      } finally {
        await server.restart();
        await coord.close();
      }
    });
  },
  { needsControl: true },
);
