import type { Redis } from 'ioredis';
import type { TaskRecord, TaskRegistry } from '../ports.js';
import { call, exec } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';

type TaskRef = Pick<TaskRecord, 'taskId' | 'itemId' | 'instanceId'> & { readonly ownerId?: string };

/** `taskAdd`'s limit argument when there is none (re-registration). */
const NO_LIMIT = 0;

/**
 * Tasks in a hash (id → JSON) plus `tasks:item:<item>`, `tasks:owner:<owner>` and
 * `tasks:instance:<id>` sets. A create and an exit are one script each (taskAdd-4 counts
 * the owner's tasks and registers in the same step; taskRemove-4): one command per
 * round trip. A MULTI was six commands plus an ioredis pipeline object per call, which
 * copies every script defined on the client (~80 with BullMQ's): add and remove as
 * MULTIs were ~15 % of bench:tasks' CPU.
 */
export class RedisTaskRegistry implements TaskRegistry {
  private readonly redis: Redis;

  constructor(
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
  ) {
    this.redis = scripts.client;
  }

  async add(task: TaskRecord): Promise<void> {
    await this.register('tasks.add', task, NO_LIMIT, []);
  }

  async addWithinLimit(task: TaskRecord, limit: number, alsoRunning: readonly string[]): Promise<boolean> {
    if (!(Number.isInteger(limit) && limit > 0)) throw new RangeError(`task limit ${limit} must be an integer > 0`);
    return this.register('tasks.addWithinLimit', task, limit, alsoRunning);
  }

  async remove(task: TaskRef): Promise<void> {
    const { keys } = this;
    await call(this.redis, 'tasks.remove', () =>
      this.scripts.run(
        'taskRemove',
        [keys.tasks, keys.taskInstance(task.instanceId), keys.taskOwner(task.ownerId ?? ''), keys.taskItem(task.itemId ?? '')],
        [task.taskId, task.ownerId === undefined ? '0' : '1', task.itemId === null ? '0' : '1'],
      ),
    );
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
      tx.hdel(this.keys.tasks, taskId);
      tx.srem(this.keys.taskInstance(instanceId), taskId);
      if (record === null) return;
      tx.srem(this.keys.taskOwner(record.ownerId), taskId);
      if (record.itemId !== null) tx.srem(this.keys.taskItem(record.itemId), taskId);
    });
    await call(this.redis, 'tasks.removeByInstance', () => exec(tx));
    return ids;
  }

  private async register(op: string, task: TaskRecord, limit: number, alsoRunning: readonly string[]): Promise<boolean> {
    const { keys } = this;
    const reply = await call(this.redis, op, () =>
      this.scripts.run(
        'taskAdd',
        [keys.tasks, keys.taskOwner(task.ownerId), keys.taskInstance(task.instanceId), keys.taskItem(task.itemId ?? '')],
        [task.taskId, JSON.stringify(task), limit, task.itemId === null ? '0' : '1', ...alsoRunning],
      ),
    );
    return reply === 1;
  }
}

function parse(json: string): TaskRecord {
  return Object.freeze(JSON.parse(json) as TaskRecord);
}
