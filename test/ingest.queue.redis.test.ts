import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisCoordination } from '../src/coordination/redis/index.js';
import { ErrorCode, SwitchyardError } from '../src/errors.js';
import { silentLogger } from '../src/observability/logger.js';
import { jobQueueContract, FAST_QUEUE } from './ingest.queue.contract.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';

await describeRedis('job queue on Redis (BullMQ)', (server) => {
  jobQueueContract('redis', async (options) => {
    const keyPrefix = randomPrefix();
    const logger = silentLogger();
    // Two coordinations = two instances: cancel commands must cross the bus.
    const c1 = await createRedisCoordination({ url: server.url, keyPrefix, logger, jobs: options });
    const c2 = await createRedisCoordination({ url: server.url, keyPrefix, logger, jobs: options });
    return {
      a: c1.jobs,
      b: c2.jobs,
      cleanup: async () => {
        await Promise.all([c1.close(), c2.close()]);
      },
    };
  });

  it('refuses to start when Redis may evict keys (maxmemory-policy is not noeviction)', async () => {
    const admin = new Redis(server.url);
    const keyPrefix = randomPrefix();
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await assert.rejects(
        createRedisCoordination({ url: server.url, keyPrefix, logger: silentLogger(), jobs: FAST_QUEUE }),
        (err: unknown) => err instanceof SwitchyardError && err.code === ErrorCode.QUEUE_MISCONFIGURED && /allkeys-lru/.test(err.message),
      );
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      admin.disconnect();
    }
  });
});
