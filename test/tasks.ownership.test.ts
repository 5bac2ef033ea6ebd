import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { itemActorKey } from '../src/tasks/index.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { FakeUpstream } from './helpers/upstream.js';
import { waitKind } from './tasks.fixtures.js';
import { raceStopsAgainstCreates, squatChangesNothing } from './tasks.scenarios.js';

/** Issue 13 item 1 on the memory backend: another user's stop of the same chat never touches your tasks. */
describe('tasks belong to their owner (memory backend)', () => {
  let upstream: FakeUpstream;
  let t: TestRuntime;
  before(async () => {
    upstream = await FakeUpstream.start();
    // A slow answer: six tokens 25 ms apart, so bob's stops land while alice's tasks stream.
    upstream.setDefault({ type: 'stream', tokens: ['one', ' two', ' three', ' four', ' five', ' six'], delayMs: 25 });
    t = await startRuntime({ log: { level: 'warn', components: {} }, tasks: { completion: { baseUrl: upstream.baseUrl } } });
    t.runtime.tasks.registerKind(waitKind('wait'));
  });
  after(async () => {
    await t.runtime.stop();
    await upstream.close();
  });

  it('200 concurrent stops of chat R by bob while alice creates tasks on R: none of alice’s is cancelled but by her', async () => {
    await raceStopsAgainstCreates({ alice: t.runtime, bob: t.runtime }, 'race');
  });

  it('no owner and item pair spells another pair’s actor key, whatever the ids contain', () => {
    const pairs: Array<[string, string]> = [['a/b', 'chat:c'], ['a', 'b/chat:c'], ['a%2Fb', 'chat:c'], ['a', 'chat:c'], ['', 'a/chat:c']];
    const keys = pairs.map(([owner, item]) => itemActorKey(owner, item));
    assert.equal(new Set(keys).size, pairs.length, keys.join(' | '));
  });

  it('bob squatting chat S changes nothing for alice (create, list, stop); the admin sees and stops both', async () => {
    await squatChangesNothing({ alice: t.runtime, bob: t.runtime }, 'squat');
  });
});
