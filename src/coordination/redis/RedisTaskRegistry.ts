import type { Redis } from 'ioredis';
import type { TaskRecord, TaskRegistry } from '../ports.js';
import { call, exec } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';

type TaskRef = Pick<TaskRecord, 'taskId' | 'itemId' | 'instanceId'> & { readonly ownerId?: string };

/**
 * Tasks in a hash (id → JSON) plus `tasks:item:<item>`, `tasks:owner:<owner>` and
 * `tasks:instance:<id>` sets. Writes are MULTI transactions: atomic like a script, and every key is
 * named by the command itself, so no Lua is needed.
 */
export class RedisTaskRegistry implements TaskRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async add(task: TaskRecord): Promise<void> {
    const tx = this.redis.multi().hset(this.keys.tasks, task.taskId, JSON.stringify(task));
    if (task.itemId !== null) tx.sadd(this.keys.taskItem(task.itemId), task.taskId);
    tx.sadd(this.keys.taskInstance(task.instanceId), task.taskId);
    tx.sadd(this.keys.taskOwner(task.ownerId), task.taskId);
    await call(this.redis, 'tasks.add', () => exec(tx));
  }

  async remove(task: TaskRef): Promise<void> {
    await call(this.redis, 'tasks.remove', () => exec(this.unlink(this.redis.multi(), task)));
  }

  async get(taskId: string): Promise<TaskRecord | null> {
    const json = await call(this.redis, 'tasks.get', () => this.redis.hget(this.keys.tasks, taskId));
    return json === null ? null : parse(json);
  }

  async list(): Promise<TaskRecord[]> {
    const all = await call(this.redis, 'tasks.list', () => this.redis.hvals(this.keys.tasks));
    return all.map(parse);
  }

  async listByItem(itemId: string): Promise<string[]> {
    return call(this.redis, 'tasks.listByItem', () => this.redis.smembers(this.keys.taskItem(itemId)));
  }

  async listByOwner(ownerId: string): Promise<string[]> {
    return call(this.redis, 'tasks.listByOwner', () => this.redis.smembers(this.keys.taskOwner(ownerId)));
  }

  async removeByInstance(instanceId: string): Promise<string[]> {
    const ids = await call(this.redis, 'tasks.removeByInstance', () => this.redis.smembers(this.keys.taskInstance(instanceId)));
    if (ids.length === 0) return [];
    // Item ids come from the stored records; SREM (not DEL) on the instance set keeps a
    // task the instance registered after SMEMBERS.
    const records = await call(this.redis, 'tasks.removeByInstance', () => this.redis.hmget(this.keys.tasks, ...ids));
    const tx = this.redis.multi();
    ids.forEach((taskId, i) => {
      const record = records[i] ? parse(records[i]!) : null;
      this.unlink(tx, { taskId, instanceId, itemId: record?.itemId ?? null, ...(record ? { ownerId: record.ownerId } : {}) });
    });
    await call(this.redis, 'tasks.removeByInstance', () => exec(tx));
    return ids;
  }

  private unlink(tx: ReturnType<Redis['multi']>, task: TaskRef): ReturnType<Redis['multi']> {
    tx.hdel(this.keys.tasks, task.taskId);
    if (task.itemId !== null) tx.srem(this.keys.taskItem(task.itemId), task.taskId);
    tx.srem(this.keys.taskInstance(task.instanceId), task.taskId);
    if (task.ownerId !== undefined) tx.srem(this.keys.taskOwner(task.ownerId), task.taskId);
    return tx;
  }
}

function parse(json: string): TaskRecord {
  return Object.freeze(JSON.parse(json) as TaskRecord);
}
