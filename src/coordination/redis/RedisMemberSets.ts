import type { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.js';
import type { MemberSets } from '../ports.js';
import { call, closeClient, createClient, waitReady } from './connection.js';

export interface RedisMemberSetsOptions {
  readonly url: string;
  /** REDIS_KEY_PREFIX; sets live at `<prefix>:sets:<name>`. */
  readonly keyPrefix: string;
  readonly logger: Logger;
  /** @default 10_000 // ms */
  readonly connectTimeoutMs?: number;
}

/**
 * MemberSets on Redis: one sorted set per name, scored by last-seen time, so expiry
 * is one ZREMRANGEBYSCORE (O(expired)) and every instance reads the same list.
 * Each single-key command is atomic on its own; no script is needed.
 */
export class RedisMemberSets implements MemberSets {
  private constructor(private readonly redis: Redis, private readonly keyPrefix: string) {}

  static async connect(options: RedisMemberSetsOptions): Promise<RedisMemberSets> {
    const redis = createClient({ url: options.url, name: `${options.keyPrefix}:sets`, logger: options.logger });
    try {
      await waitReady(redis, options.connectTimeoutMs ?? 10_000);
    } catch (err) {
      await closeClient(redis);
      throw err;
    }
    return new RedisMemberSets(redis, options.keyPrefix);
  }

  private key(set: string): string {
    return `${this.keyPrefix}:sets:${set}`;
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

  close(): Promise<void> {
    return closeClient(this.redis);
  }
}
