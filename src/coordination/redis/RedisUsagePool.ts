import type { Redis } from 'ioredis';
import { validateModelName } from '../modelName.js';
import type { LeaseGuard, UsagePool } from '../ports.js';
import { call } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';

/** Joins model and sid in one zset member; validateModelName keeps it (and "\n", the list separator) out of models. */
const SEP = '\u0001';

/**
 * Usage entries `model\u0001sid` in a zset scored by mark time (the O(expired)
 * sweep), the same members in a lex-ordered zset (sessionsOf without a scan), a
 * model → count hash (models()), and a sid → models hash (removeSession without a scan).
 */
export class RedisUsagePool implements UsagePool {
  constructor(
    private readonly redis: Redis,
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
  ) {}

  private get all(): string[] {
    return [this.keys.usageEntries, this.keys.usageByModel, this.keys.usageModels, this.keys.usageSessions];
  }

  async mark(model: string, sid: string, now: number): Promise<void> {
    validateModelName(model);
    await call(this.redis, 'usage.mark', () => this.scripts.run('usageMark', this.all, [model, sid, now]));
  }

  async removeSession(sid: string): Promise<void> {
    await call(this.redis, 'usage.removeSession', () => this.scripts.run('usageRemoveSession', this.all, [sid]));
  }

  async models(): Promise<string[]> {
    return call(this.redis, 'usage.models', () => this.redis.hkeys(this.keys.usageModels));
  }

  async sessionsOf(model: string): Promise<string[]> {
    const prefix = model + SEP;
    // "\u0002" sorts right after SEP, so this range is exactly the members starting with `model\u0001`.
    const members = await call(this.redis, 'usage.sessionsOf', () => this.redis.zrangebylex(this.keys.usageByModel, `[${prefix}`, `(${model}\u0002`));
    return members.map((m) => m.slice(prefix.length));
  }

  async size(): Promise<number> {
    return call(this.redis, 'usage.size', () => this.redis.zcard(this.keys.usageEntries));
  }

  async sweep(olderThan: number, limit: number, guard?: LeaseGuard): Promise<number> {
    const args = [`(${olderThan}`, limit];
    const reply = await call(this.redis, 'usage.sweep', () =>
      guard
        ? this.scripts.runFenced('usageSweepFenced', guard.name, [...this.all, this.keys.lock(guard.name)], [...args, guard.owner])
        : this.scripts.run('usageSweep', this.all, args),
    );
    return reply as number;
  }
}
