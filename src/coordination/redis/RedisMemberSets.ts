import type { Redis } from 'ioredis';
import type { MemberSets } from '../ports.js';
import { call } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';

/**
 * MemberSets on Redis: one sorted set per name, scored by last-seen time, so expiry
 * is one ZREMRANGEBYSCORE (O(expired)) and every instance reads the same list.
 * Each single-key command is atomic on its own; no script is needed.
 */
export class RedisMemberSets implements MemberSets {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  private key(set: string): string {
    return this.keys.memberSet(set);
  }

  async add(set: string, member: string, now: number): Promise<void> {
    await call(this.redis, 'ZADD', () => this.redis.zadd(this.key(set), now, member));
  }

  async remove(set: string, member: string): Promise<void> {
    await call(this.redis, 'ZREM', () => this.redis.zrem(this.key(set), member));
  }

  async members(set: string, now: number, ttlMs: number): Promise<string[]> {
    const key = this.key(set);
    const replies = await call(this.redis, 'ZRANGE', () =>
      this.redis.multi().zremrangebyscore(key, '-inf', `(${now - ttlMs}`).zrange(key, 0, -1).exec(),
    );
    const members = (replies?.[1]?.[1] ?? []) as string[];
    return [...members].sort();
  }

  /** The connection is the backend's: it closes with it. */
  async close(): Promise<void> {}
}
