import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MemoryMemberSets } from '../src/coordination/memory/MemoryMemberSets.js';
import type { MemberSets } from '../src/coordination/ports.js';
import { createRedisCoordination } from '../src/coordination/redis/index.js';
import type { Coordination } from '../src/coordination/ports.js';
import { silentLogger } from '../src/observability/logger.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';

/** The note session lists (one set per document) behave the same on both backends. */
function contract(name: string, make: () => Promise<{ a: MemberSets; b: MemberSets }>): void {
  describe(`note session sets: ${name}`, () => {
    let a: MemberSets;
    let b: MemberSets;
    after(async () => {
      await a?.close();
      if (b !== a) await b?.close();
    });

    it('two handles (instances) read one sorted list; remove takes a member out', async () => {
      ({ a, b } = await make());
      await a.add('doc1', 'zz', 1_000);
      await b.add('doc1', 'aa', 1_000);
      await b.add('doc2', 'other', 1_000);
      assert.deepEqual(await a.members('doc1', 1_000, 60_000), ['aa', 'zz']);
      assert.deepEqual(await b.members('doc1', 1_000, 60_000), ['aa', 'zz']);
      await a.remove('doc1', 'aa');
      assert.deepEqual(await b.members('doc1', 1_000, 60_000), ['zz']);
      assert.deepEqual(await a.members('nothing', 1_000, 60_000), []);
    });

    it('members not refreshed within the TTL drop out; add refreshes', async () => {
      await a.add('doc3', 'stale', 1_000);
      await a.add('doc3', 'fresh', 1_000);
      await b.add('doc3', 'fresh', 9_000);
      assert.deepEqual(await a.members('doc3', 10_000, 5_000), ['fresh']);
      assert.deepEqual(await b.members('doc3', 10_000, 60_000), ['fresh'], 'the expired member was removed, not only hidden');
    });
  });
}

await describeRedis('note session sets on Redis', (server) => {
  const keyPrefix = randomPrefix();
  // Two backends (two instances) on one Redis: each provides its own MemberSets over its connections.
  const backends: Coordination[] = [];
  after(() => Promise.all(backends.map((c) => c.close())));
  contract('redis', async () => {
    for (let i = 0; i < 2; i++) backends.push(await createRedisCoordination({ url: server.url, keyPrefix, logger: silentLogger() }));
    return { a: backends[0]!.memberSets, b: backends[1]!.memberSets };
  });
});

// Registered after the await: suites added once node:test started running would be lost.
contract('memory', async () => {
  const sets = new MemoryMemberSets();
  return { a: sets, b: sets };
});
