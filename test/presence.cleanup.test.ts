import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CLEANUP_LOCK_NAME, type SweepRecord } from '../src/presence/UsageCleanup.js';
import { FAST_PRESENCE, startRuntime, type TestRuntime } from './helpers/runtime.js';
import { sleep, waitFor } from './helpers/wait.js';

describe('usage cleanup on the memory backend', () => {
  let t: TestRuntime;
  after(() => t?.runtime.stop());

  it('the single instance leads, sweeps expired usage and drops models with no sessions', async () => {
    t = await startRuntime({ presence: FAST_PRESENCE }, { gateway: false });
    const { coordination, cleanupEvents, instanceId } = t.runtime;
    const sweeps: SweepRecord[] = [];
    cleanupEvents.on('sweep', (r) => sweeps.push(r));

    await waitFor(async () => (await coordination.lock.holder(CLEANUP_LOCK_NAME))?.owner === instanceId, { what: 'leadership' });

    // Two sessions on one model; only one keeps refreshing.
    await coordination.usage.mark('gpt-x', 'stale', Date.now());
    await coordination.usage.mark('gpt-x', 'live', Date.now());
    await coordination.usage.mark('llama', 'stale', Date.now());
    const keepAlive = setInterval(() => void coordination.usage.mark('gpt-x', 'live', Date.now()), 50);
    try {
      await waitFor(async () => !(await coordination.usage.models()).includes('llama'), { timeoutMs: 3_000, what: 'llama to expire' });
      assert.deepEqual(await coordination.usage.sessionsOf('gpt-x'), ['live']);
      assert.deepEqual(await coordination.usage.models(), ['gpt-x']);
    } finally {
      clearInterval(keepAlive);
    }
    // Once nobody refreshes, the model disappears too.
    await waitFor(async () => (await coordination.usage.models()).length === 0, { timeoutMs: 3_000, what: 'gpt-x to expire' });
    assert.ok(sweeps.some((s) => s.usageRemoved > 0), 'a sweep recorded removals');
    assert.ok(sweeps.every((s) => s.owner === instanceId));
  });

  it('an entry refreshed within the timeout survives sweeps', async () => {
    const { coordination } = t.runtime;
    await coordination.usage.mark('kept', 's1', Date.now());
    for (let i = 0; i < 6; i++) {
      await sleep(FAST_PRESENCE.usageTimeoutMs / 2);
      await coordination.usage.mark('kept', 's1', Date.now());
    }
    assert.deepEqual(await coordination.usage.models(), ['kept']);
  });

  it('sessions not seen for the session timeout are removed with their usage', async () => {
    const { coordination, instanceId } = t.runtime;
    const now = Date.now();
    await coordination.sessions.upsert({ sid: 'idle', userId: 'u1', name: 'U', role: 'user', instanceId, connectedAt: now, lastSeenAt: now });
    await coordination.usage.mark('m', 'idle', now);
    assert.equal(await coordination.sessions.userCount(), 1);
    await waitFor(async () => (await coordination.sessions.get('idle')) === null, { timeoutMs: 4_000, what: 'idle session removal' });
    assert.equal(await coordination.sessions.userCount(), 0);
    assert.deepEqual(await coordination.usage.sessionsOf('m'), []);
  });

  it('stop releases the lease', async () => {
    await t.runtime.stop();
    assert.equal(await t.runtime.coordination.lock.holder(CLEANUP_LOCK_NAME).catch(() => null), null);
  });
});
