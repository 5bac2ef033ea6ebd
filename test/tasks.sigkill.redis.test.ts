import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { ChildInstance, FAST_PRESENCE, startRuntime, type TestRuntime } from './helpers/runtime.js';
import { FakeUpstream } from './helpers/upstream.js';
import { waitFor } from './helpers/wait.js';
import { tokenFor } from './tasks.fixtures.js';

const HEARTBEAT_MS = 100;
const TTL_MS = 500;

/**
 * An instance killed with SIGKILL runs no cleanup: its tasks stay in the registry
 * until the cleanup leader sees its heartbeat expire and removes them.
 */
await describeRedis(
  'tasks of a SIGKILLed instance',
  (server) => {
    // Nested, so these instances stop (after()) before describeRedis stops the server.
    describe('instances', () => {
      const prefix = randomPrefix();
      let upstream: FakeUpstream | undefined;
      let child: ChildInstance | undefined;
      let leader: TestRuntime | undefined;
      after(async () => {
        await child?.kill();
        await leader?.runtime.stop();
        await upstream?.close();
      });

      it('leaves no registry entries once its heartbeat has expired', async () => {
        upstream = await FakeUpstream.start();
        upstream.setDefault({ type: 'stream', tokens: ['still', ' going'], hold: true });
        child = await ChildInstance.start({
          REDIS_URL: server.url,
          REDIS_KEY_PREFIX: prefix,
          INSTANCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
          INSTANCE_TTL_MS: String(TTL_MS),
          TIMEOUT_DURATION: String(FAST_PRESENCE.usageTimeoutMs / 1000),
          WEBSOCKET_REDIS_LOCK_TIMEOUT: String(FAST_PRESENCE.lockTimeoutMs / 1000),
          CLEANUP_RETRY_INTERVAL_MS: String(FAST_PRESENCE.lockRetryMs),
          OPENAI_API_BASE_URL: upstream.baseUrl,
        });
        leader = await startRuntime(
          {
            coordination: 'redis',
            redisUrl: server.url,
            redisKeyPrefix: prefix,
            presence: FAST_PRESENCE,
            instances: { heartbeatMs: HEARTBEAT_MS, ttlMs: TTL_MS },
            log: { level: 'warn', components: {} },
          },
          { gateway: false },
        );
        const registry = leader.runtime.coordination.tasks;

        const ids: string[] = [];
        for (const item of ['chat:k1', 'chat:k1', null]) {
          const res = await fetch(`http://127.0.0.1:${child.port}/api/tasks`, {
            method: 'POST',
            headers: { authorization: `Bearer ${await tokenFor('alice')}`, 'content-type': 'application/json' },
            body: JSON.stringify({ kind: 'completion', item_id: item, input: { messages: [{ role: 'user', content: 'go' }] } }),
            signal: AbortSignal.timeout(5_000),
          });
          assert.equal(res.status, 200, await res.clone().text());
          ids.push(((await res.json()) as { task_id: string }).task_id);
        }
        await upstream.waitForRequests(3);
        const before = await registry.list();
        assert.deepEqual(before.map((r) => r.taskId).sort(), [...ids].sort());
        assert.ok(before.every((r) => r.instanceId !== leader!.runtime.instanceId), 'the tasks run on the child');

        await child.kill();
        // Lease TTL (the child may have led the cleanup) + heartbeat TTL + a sweep period, with room to spare.
        await waitFor(async () => (await registry.list()).length === 0, { what: 'registry to be emptied', timeoutMs: 10_000, intervalMs: 100 });
        assert.deepEqual(await registry.listByItem('chat:k1'), []);
        for (const r of before) assert.deepEqual(await registry.removeByInstance(r.instanceId), [], 'no instance-set leftovers');
      });
    });
  },
  { needsControl: false },
);
