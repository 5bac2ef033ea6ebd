import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { TokenService } from '../src/auth/tokens.js';
import { TestClient } from './helpers/gateway.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { FAST_PRESENCE, startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { sleep, waitFor } from './helpers/wait.js';

const tokens = new TokenService(TEST_SECRET);

async function connect(t: TestRuntime, sub: string): Promise<TestClient> {
  return TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub })}` });
}

async function usage(t: TestRuntime, token: string): Promise<{ model_ids: string[]; user_count: number }> {
  const res = await fetch(`http://127.0.0.1:${t.runtime.port}/api/usage`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as { model_ids: string[]; user_count: number };
}

await describeRedis(
  'gateway: two instances on one Redis',
  (server) => {
    const runtimes: TestRuntime[] = [];
    const clients: TestClient[] = [];
    let a: TestRuntime;
    let b: TestRuntime;
    after(async () => {
      for (const c of clients) c.terminate();
      await Promise.all(runtimes.map((t) => t.runtime.stop()));
    });

    it('starts two instances sharing one prefix', async () => {
      const prefix = randomPrefix();
      const config = { coordination: 'redis', redisUrl: server.url, redisKeyPrefix: prefix, presence: FAST_PRESENCE };
      a = await startRuntime(config);
      b = await startRuntime(config);
      runtimes.push(a, b);
      assert.notEqual(a.runtime.instanceId, b.runtime.instanceId);
    });

    it("an event emitted to user:<sub> on A reaches that user's sockets on A and B, once each", async () => {
      const onA = await connect(a, 'alice');
      const onB = await connect(b, 'alice');
      const bob = await connect(b, 'bob');
      clients.push(onA, onB, bob);
      // The room subscription on B is made when its socket opens; give the SUBSCRIBE a moment to land.
      await sleep(100);
      await a.runtime.gateway!.emitToRoom('user:alice', 'notice', { n: 1 });
      await onA.waitFor((f) => f.event === 'notice' && f.data?.n === 1, 'notice on A');
      await onB.waitFor((f) => f.event === 'notice' && f.data?.n === 1, 'notice on B');
      await sleep(200);
      assert.equal(onA.frames.filter((f) => f.event === 'notice').length, 1, 'no echo duplicate on A');
      assert.equal(onB.frames.filter((f) => f.event === 'notice').length, 1);
      assert.equal(bob.frames.filter((f) => f.event === 'notice').length, 0, 'other users get nothing');
    });

    it('/api/usage agrees on both instances', async () => {
      const [onA, onB] = clients;
      assert.ok((await onA!.request('usage', { action: 'chat', model: 'gpt-a', chat_id: 'c1' })).data !== undefined);
      assert.ok((await onB!.request('usage', { action: 'chat', model: 'gpt-b', chat_id: 'c2' })).data !== undefined);
      const token = await tokens.sign({ sub: 'alice' });
      const fromA = await usage(a, token);
      const fromB = await usage(b, token);
      assert.deepEqual(fromA.model_ids.sort(), ['gpt-a', 'gpt-b']);
      assert.deepEqual(fromA, fromB);
      assert.equal(fromA.user_count, 2, 'alice and bob');
      // Without refreshes both expire (TIMEOUT_DURATION is 200 ms here), seen the same from both sides.
      await waitFor(async () => (await usage(a, token)).model_ids.length === 0, { timeoutMs: 3_000, what: 'usage to expire' });
      assert.deepEqual((await usage(b, token)).model_ids, []);
    });

    it('Redis killed and restarted: sockets stay open and cross-instance emission works again', async () => {
      const [onA, onB] = clients;
      await server.kill();
      await sleep(300);
      assert.ok(onA!.isOpen && onB!.isOpen, 'sockets survive the outage');
      await server.restart();
      // The bus resubscribes with backoff (1 s first); emit until a message gets through, bounded.
      let n = 100;
      await waitFor(
        async () => {
          n++;
          await a.runtime.gateway!.emitToRoom('user:alice', 'notice', { n }).catch(() => undefined);
          return onB!.frames.some((f) => f.event === 'notice' && (f.data?.n as number) > 100);
        },
        { timeoutMs: 15_000, intervalMs: 250, what: 'cross-instance delivery after the restart' },
      );
      assert.ok(onA!.isOpen && onB!.isOpen);
      // The local socket on A got the same messages directly.
      assert.ok(onA!.frames.some((f) => f.event === 'notice' && (f.data?.n as number) > 100));
    });
  },
  { needsControl: true },
);
