import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { CLEANUP_LOCK_NAME, type SweepRecord } from '../src/presence/UsageCleanup.js';
import { describeRedis, randomPrefix, type RedisServer } from './helpers/redis.js';
import { ChildInstance, FAST_PRESENCE, startRuntime, type TestRuntime } from './helpers/runtime.js';
import { sleep, waitFor } from './helpers/wait.js';

const redisConfig = (server: RedisServer, prefix: string) => ({
  coordination: 'redis',
  redisUrl: server.url,
  redisKeyPrefix: prefix,
  presence: FAST_PRESENCE,
  instances: { heartbeatMs: 100, ttlMs: 500 },
});

function record(t: TestRuntime, into: SweepRecord[]): void {
  t.runtime.cleanupEvents.on('sweep', (r) => into.push(r));
}

/** No two sweeps by different owners overlap in time, and fences only grow with time. */
function assertNoOverlap(sweeps: SweepRecord[]): void {
  const sorted = [...sweeps].sort((a, b) => a.startedAt - b.startedAt);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    assert.ok(cur.fence >= prev.fence, `fence went back: ${prev.fence} (${prev.owner}) then ${cur.fence} (${cur.owner})`);
    if (cur.owner !== prev.owner) {
      assert.ok(cur.fence > prev.fence, `a new leader must have a larger fence: ${prev.fence} → ${cur.fence}`);
      assert.ok(cur.startedAt >= prev.endedAt, `sweeps of ${prev.owner} and ${cur.owner} overlap`);
    }
  }
}

await describeRedis(
  'usage cleanup with two runtimes on one Redis',
  (server) => {
    const started: TestRuntime[] = [];
    const children: ChildInstance[] = [];
    after(async () => {
      await Promise.all(children.map((c) => c.kill()));
      await Promise.all(started.map((t) => t.runtime.stop()));
    });
    const start = async (prefix: string) => {
      const t = await startRuntime(redisConfig(server, prefix), { gateway: false });
      started.push(t);
      return t;
    };

    it('(a) never two sweepers at once: fences strictly increase across leaders', async () => {
      const prefix = randomPrefix();
      const sweeps: SweepRecord[] = [];
      const live = [await start(prefix), await start(prefix)];
      for (const t of live) record(t, sweeps);
      // Hand leadership on by stopping whoever leads (releasing the lease), three times.
      for (let round = 0; round < 3; round++) {
        await sleep(600);
        const holder = await live[0]!.runtime.coordination.lock.holder(CLEANUP_LOCK_NAME);
        const leader = live.find((t) => t.runtime.instanceId === holder?.owner);
        assert.ok(leader, `one of the live runtimes leads (holder: ${holder?.owner})`);
        await leader.runtime.stop();
        live.splice(live.indexOf(leader), 1);
        const fresh = await start(prefix);
        record(fresh, sweeps);
        live.push(fresh);
      }
      await sleep(600);
      const owners = new Set(sweeps.map((s) => s.owner));
      assert.ok(owners.size >= 2, `leadership changed hands (owners: ${[...owners].join(', ')})`);
      assertNoOverlap(sweeps);
    });

    it('(b) a SIGKILLed leader is replaced within lease TTL + one retry interval', async () => {
      const prefix = randomPrefix();
      const leader = await ChildInstance.start({
        REDIS_URL: server.url,
        REDIS_KEY_PREFIX: prefix,
        TIMEOUT_DURATION: String(FAST_PRESENCE.usageTimeoutMs / 1000),
        WEBSOCKET_REDIS_LOCK_TIMEOUT: String(FAST_PRESENCE.lockTimeoutMs / 1000),
        CLEANUP_RETRY_INTERVAL_MS: String(FAST_PRESENCE.lockRetryMs),
        LOG_LEVEL: 'info',
      });
      children.push(leader);
      const follower = await start(prefix);
      await waitFor(async () => (await follower.runtime.coordination.lock.holder(CLEANUP_LOCK_NAME))?.owner === leader.instanceId, {
        what: 'the child instance to lead',
      });
      const sweeps: SweepRecord[] = [];
      record(follower, sweeps);
      await sleep(300);
      assert.equal(sweeps.length, 0, 'the follower does not sweep while the leader lives');

      const killedAt = Date.now();
      await leader.kill();
      await waitFor(() => sweeps.length > 0, { timeoutMs: 5_000, what: 'the follower to sweep' });
      const takeover = sweeps[0]!.startedAt - killedAt;
      // One retry interval is lockRetryMs ± 25 % jitter; allow scheduling slack on a busy machine.
      const bound = FAST_PRESENCE.lockTimeoutMs + FAST_PRESENCE.lockRetryMs * 1.25 + 500;
      assert.ok(takeover <= bound, `takeover took ${takeover} ms, bound ${bound} ms`);
      assert.equal(sweeps[0]!.owner, follower.runtime.instanceId);
    });

    it('(c) Redis killed while leading: sweeping stops, then resumes after restart in the same process', async () => {
      const prefix = randomPrefix();
      const t = await start(prefix);
      const sweeps: SweepRecord[] = [];
      const lost: string[] = [];
      record(t, sweeps);
      t.runtime.cleanupEvents.on('lost', (reason) => lost.push(reason));
      await waitFor(() => sweeps.length >= 2, { what: 'sweeps before the outage' });

      await server.kill();
      await waitFor(() => lost.length > 0, { timeoutMs: 5_000, what: 'the lease to be given up' });
      const countAtLoss = sweeps.length;
      await sleep(800);
      assert.equal(sweeps.length, countAtLoss, 'no sweeps while Redis is down');

      await server.restart();
      await waitFor(() => sweeps.length > countAtLoss, { timeoutMs: 10_000, what: 'sweeping to resume' });
      // The expiry still works end to end after the outage.
      await t.runtime.coordination.usage.mark('after-outage', 's', Date.now());
      await waitFor(async () => !(await t.runtime.coordination.usage.models()).includes('after-outage'), {
        timeoutMs: 3_000,
        what: 'expiry after the outage',
      });
    });

    it('(d) a usage entry expires after TIMEOUT_DURATION and a model with no sessions disappears', async () => {
      const prefix = randomPrefix();
      const a = await start(prefix);
      const b = await start(prefix);
      await b.runtime.coordination.usage.mark('m1', 'sid-b', Date.now());
      await a.runtime.coordination.usage.mark('m1', 'sid-a', Date.now());
      assert.deepEqual((await a.runtime.coordination.usage.sessionsOf('m1')).sort(), ['sid-a', 'sid-b']);
      const keep = setInterval(() => void a.runtime.coordination.usage.mark('m1', 'sid-a', Date.now()), 50);
      try {
        await waitFor(async () => (await b.runtime.coordination.usage.sessionsOf('m1')).join() === 'sid-a', { timeoutMs: 3_000, what: 'sid-b to expire' });
      } finally {
        clearInterval(keep);
      }
      await waitFor(async () => (await b.runtime.coordination.usage.models()).length === 0, { timeoutMs: 3_000, what: 'm1 to disappear' });
    });
  },
  { needsControl: true },
);
