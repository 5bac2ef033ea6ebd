/**
 * bench:cleanup — one sweep of a 100,000-entry usage pool with 1 % expired:
 * switchyard's O(expired) sweep (sorted set scored by time, Lua) against the naive
 * algorithm of the original system (read the whole pool hash, filter in the
 * process, write back every changed model), on the same Redis in the same run.
 * Target: switchyard ≥ 20× faster.
 *
 * Redis: REDIS_URL, else redis://127.0.0.1:6379. Keys use a random prefix and are deleted after.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createRedisCoordination } from '../src/coordination/redis/index.js';
import { fmt, median, reportResult } from './lib/results.js';

const ENTRIES = 100_000;
const MODELS = 100;
const EXPIRED = ENTRIES / 100;
const TIMEOUT_MS = 3_000;
const ROUNDS = 5;
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-${randomUUID().slice(0, 8)}`;

const modelOf = (i: number) => `model-${i % MODELS}`;
const sidOf = (i: number) => `sid-${i}`;
/** Which entries are stale this round: every 100th, shifted per round. */
const isExpired = (i: number, round: number) => (i + round) % (ENTRIES / EXPIRED) === 0;

async function main(): Promise<void> {
  const coord = await createRedisCoordination({ url, keyPrefix: prefix });
  const redis = new Redis(url, { lazyConnect: false });
  const naiveKey = `${prefix}:naive:usage_pool`;
  const switchyardMs: number[] = [];
  const naiveMs: number[] = [];
  try {
    console.log(`bench:cleanup — ${ENTRIES} entries over ${MODELS} models, ${EXPIRED} expired per round, ${ROUNDS} rounds, ${url}`);
    for (let round = 0; round < ROUNDS; round++) {
      const now = Date.now();
      const stale = now - 10 * TIMEOUT_MS;

      // Same pool in both layouts: ours through the port, the naive one as the original kept it
      // (hash model → JSON {sid: {updated_at}}).
      const pending: Promise<void>[] = [];
      const naive = new Map<string, Record<string, { updated_at: number }>>();
      for (let i = 0; i < ENTRIES; i++) {
        const at = isExpired(i, round) ? stale : now;
        pending.push(coord.usage.mark(modelOf(i), sidOf(i), at));
        if (pending.length >= 2_000) await Promise.all(pending.splice(0));
        const pool = naive.get(modelOf(i)) ?? {};
        pool[sidOf(i)] = { updated_at: at / 1000 };
        naive.set(modelOf(i), pool);
      }
      await Promise.all(pending);
      await redis.del(naiveKey);
      await redis.hset(naiveKey, Object.fromEntries([...naive].map(([m, p]) => [m, JSON.stringify(p)])));
      if ((await coord.usage.size()) !== ENTRIES) throw new Error('pool not filled');

      // switchyard: batches of 1000 until a short batch, as the cleanup actor does.
      let t0 = performance.now();
      let removed = 0;
      for (;;) {
        const n = await coord.usage.sweep(now - TIMEOUT_MS, 1_000);
        removed += n;
        if (n < 1_000) break;
      }
      switchyardMs.push(performance.now() - t0);
      if (removed !== EXPIRED) throw new Error(`switchyard removed ${removed}, expected ${EXPIRED}`);

      // naive: read everything, filter, rewrite what changed.
      t0 = performance.now();
      const all = await redis.hgetall(naiveKey);
      const cutoff = (now - TIMEOUT_MS) / 1000;
      const tx = redis.pipeline();
      let naiveRemoved = 0;
      for (const [model, json] of Object.entries(all)) {
        const pool = JSON.parse(json) as Record<string, { updated_at: number }>;
        const kept = Object.fromEntries(Object.entries(pool).filter(([, v]) => v.updated_at >= cutoff));
        const dropped = Object.keys(pool).length - Object.keys(kept).length;
        if (dropped === 0) continue;
        naiveRemoved += dropped;
        if (Object.keys(kept).length === 0) tx.hdel(naiveKey, model);
        else tx.hset(naiveKey, model, JSON.stringify(kept));
      }
      await tx.exec();
      naiveMs.push(performance.now() - t0);
      if (naiveRemoved !== EXPIRED) throw new Error(`naive removed ${naiveRemoved}, expected ${EXPIRED}`);
      console.log(`  round ${round + 1}: switchyard ${fmt(switchyardMs[round])} ms, naive ${fmt(naiveMs[round])} ms`);
    }
  } finally {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await coord.close();
  }

  const ours = median(switchyardMs);
  const theirs = median(naiveMs);
  console.log(`\nmedian sweep: switchyard ${fmt(ours)} ms, naive ${fmt(theirs)} ms → ${fmt(theirs / ours)}× faster`);
  reportResult(
    'cleanup',
    { switchyard_sweep_ms: ours, naive_sweep_ms: theirs, speedup: theirs / ours, entries: ENTRIES, expired: EXPIRED },
    { speedup: { min: 20 } },
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
