import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/**
 * bench:tasks' baseline: the ORIGINAL system's task layer (SPEC §1 — the Python chat UI's
 * `tasks.py`), re-implemented faithfully in TypeScript so it runs in the same process as
 * switchyard against the same Redis:
 *
 *  - create: `asyncio.create_task(coro)` + a done callback; in Redis one pipeline
 *    `HSET <p>:tasks <task_id> <item_id>` + `SADD <p>:tasks:item:<item_id> <task_id>`;
 *  - done callback (finished or cancelled): one pipeline `HDEL` + `SREM`, then `SCARD` and
 *    `DEL` of the item's set when it is empty;
 *  - stop: `PUBLISH <p>:tasks:commands {"action":"stop","task_id"}` and reply at once
 *    ("stop signal sent"); every instance's listener looks the id up in its local dict
 *    and cancels the task if it runs there.
 *
 * Only what the bench needs: no listing routes, no timeouts, no resubscribe after a
 * Redis blip (the original has none either — one of its known failures).
 */
export type OriginalTaskBody = (signal: AbortSignal) => Promise<void>;

interface LocalTask {
  readonly controller: AbortController;
  readonly itemId: string | null;
}

export class OriginalTasks {
  /** `exit` (taskId) once the done callback has removed the task from Redis. */
  readonly events = new EventEmitter();
  private readonly tasks = new Map<string, LocalTask>();
  private readonly tasksKey: string;
  private readonly itemKey: (itemId: string) => string;
  private readonly channel: string;

  /** `redis` for commands; `subscriber` is put in subscriber mode for the command listener. */
  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    prefix: string,
  ) {
    this.tasksKey = `${prefix}:tasks`;
    this.itemKey = (itemId) => `${prefix}:tasks:item:${itemId}`;
    this.channel = `${prefix}:tasks:commands`;
  }

  /** `redis_task_command_listener`: subscribe once, cancel local tasks named by stop commands. */
  async listen(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        const command = JSON.parse(message) as { action?: string; task_id?: string };
        if (command.action === 'stop' && typeof command.task_id === 'string') this.tasks.get(command.task_id)?.controller.abort();
      } catch {
        // the original logs and continues
      }
    });
    await this.subscriber.subscribe(this.channel);
  }

  async create(body: OriginalTaskBody, itemId: string | null): Promise<string> {
    const taskId = randomUUID();
    const controller = new AbortController();
    this.tasks.set(taskId, { controller, itemId });
    // asyncio.create_task schedules the coroutine; it first runs after the creator yields.
    const run = (async () => {
      await Promise.resolve();
      await body(controller.signal);
    })();
    const pipe = this.redis.pipeline().hset(this.tasksKey, taskId, itemId ?? '');
    if (itemId !== null) pipe.sadd(this.itemKey(itemId), taskId);
    await pipe.exec();
    // add_done_callback: runs whatever the outcome (done, failed, cancelled).
    void run.catch(() => {}).then(() => this.cleanup(taskId, itemId));
    return taskId;
  }

  /** `stop_task` with Redis: publish and return; the owning instance's listener cancels. */
  async stop(taskId: string): Promise<{ status: boolean; message: string }> {
    await this.redis.publish(this.channel, JSON.stringify({ action: 'stop', task_id: taskId }));
    return { status: true, message: `Stop signal sent for ${taskId}` };
  }

  private async cleanup(taskId: string, itemId: string | null): Promise<void> {
    try {
      const pipe = this.redis.pipeline().hdel(this.tasksKey, taskId);
      if (itemId !== null) pipe.srem(this.itemKey(itemId), taskId).scard(this.itemKey(itemId));
      const replies = await pipe.exec();
      if (itemId !== null && replies?.[2]?.[1] === 0) await this.redis.del(this.itemKey(itemId));
    } finally {
      this.tasks.delete(taskId);
      this.events.emit('exit', taskId);
    }
  }
}
