import './helpers/guard.js';
import { after, before, describe, it } from 'node:test';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { waitKind } from './tasks.fixtures.js';
import { perUserLimit } from './tasks.scenarios.js';

/** Issue 13 item 4 (tasks): `tasks.maxPerUser` running tasks per user, default 32. */
describe('running tasks per user (memory backend)', () => {
  let t: TestRuntime;
  before(async () => {
    t = await startRuntime({ log: { level: 'warn', components: {} } }); // the default limit, 32
    t.runtime.tasks.registerKind(waitKind('wait'));
  });
  after(() => t.runtime.stop());

  it('the 33rd create answers 429 SWY_QUOTA_EXCEEDED with Retry-After; other users unaffected; a burst never exceeds it', async () => {
    await perUserLimit({ alice: t.runtime, bob: t.runtime }, 32);
  });
});
