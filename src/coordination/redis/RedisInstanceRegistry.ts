import type { Redis } from 'ioredis';
import type { InstanceInfo, InstanceRegistry } from '../ports.js';
import { call, exec } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';

/** Instances in a zset scored by heartbeat expiry plus an info hash. */
export class RedisInstanceRegistry implements InstanceRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
  ) {}

  async heartbeat(info: InstanceInfo, ttlMs: number, now: number): Promise<void> {
    await call(this.redis, 'instances.heartbeat', () =>
      exec(
        this.redis
          .multi()
          .zadd(this.keys.instances, now + ttlMs, info.instanceId)
          .hset(this.keys.instancesInfo, info.instanceId, JSON.stringify(info)),
      ),
    );
  }

  async listLive(now: number): Promise<InstanceInfo[]> {
    const ids = await call(this.redis, 'instances.listLive', () => this.redis.zrangebyscore(this.keys.instances, `(${now}`, '+inf'));
    if (ids.length === 0) return [];
    const infos = await call(this.redis, 'instances.listLive', () => this.redis.hmget(this.keys.instancesInfo, ...ids));
    return infos.filter((j): j is string => j !== null).map((j) => Object.freeze(JSON.parse(j) as InstanceInfo));
  }

  async reapDead(now: number): Promise<string[]> {
    const reply = await call(this.redis, 'instances.reapDead', () => this.scripts.run('instancesReap', [this.keys.instances, this.keys.instancesInfo], [now]));
    return reply as string[];
  }

  async remove(instanceId: string): Promise<void> {
    await call(this.redis, 'instances.remove', () => exec(this.redis.multi().zrem(this.keys.instances, instanceId).hdel(this.keys.instancesInfo, instanceId)));
  }
}
