import './helpers/guard.js';
import { after, before, describe, it } from 'node:test';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { FakeUpstream } from './helpers/upstream.js';
import { clusterConfig, waitKind } from './tasks.fixtures.js';
import { perUserLimit, raceStopsAgainstCreates, squatChangesNothing } from './tasks.scenarios.js';

/**
 * Issue 13 items 1 and 4 across two instances sharing Redis: alice's tasks run on
 * instance 1, bob's stops (and the admin's) arrive on instance 2; the per-user limit
 * counts both instances' tasks.
 */
await describeRedis('task ownership and the per-user limit across two instances on Redis', (server) => {
  describe('instances', () => {
    const prefix = randomPrefix();
    let upstream: FakeUpstream;
    let one: TestRuntime;
    let two: TestRuntime;
    before(async () => {
      upstream = await FakeUpstream.start();
      upstream.setDefault({ type: 'stream', tokens: ['one', ' two', ' three', ' four', ' five', ' six'], delayMs: 25 });
      const config = clusterConfig(server, prefix, { tasks: { completion: { baseUrl: upstream.baseUrl } } });
      one = await startRuntime(config);
      two = await startRuntime(config);
      for (const t of [one, two]) t.runtime.tasks.registerKind(waitKind('wait'));
    });
    after(async () => {
      await Promise.all([one, two].filter(Boolean).map((t) => t.runtime.stop()));
      await upstream?.close();
    });

    it('200 concurrent stops of chat R on instance 2 while alice creates on instance 1: none of alice’s is cancelled but by her', async () => {
      await raceStopsAgainstCreates({ alice: one.runtime, bob: two.runtime }, 'race');
    });

    it('bob squatting chat S from instance 2 changes nothing for alice on instance 1; the admin stops both', async () => {
      await squatChangesNothing({ alice: one.runtime, bob: two.runtime }, 'squat');
    });

    it('the 33rd running task of a user, on either instance, is refused; counted across instances', async () => {
      await perUserLimit({ alice: one.runtime, bob: two.runtime }, 32);
    });
  });
});
