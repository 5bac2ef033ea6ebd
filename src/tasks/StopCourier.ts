import type { MessageBus, TaskRegistry } from '../coordination/ports.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { TASK_COMMANDS_TOPIC, encodeStop } from './TaskCommands.js';

export interface StopCourierOptions {
  /** First wait before checking that a stopped task left the registry, ms. @default 250 */
  readonly firstCheckMs: number;
  /** The wait doubles up to this, ms. @default 4_000 */
  readonly maxCheckMs: number;
  /** Give up re-sending after this long (a dead instance's tasks are reaped instead), ms. @default 60_000 */
  readonly deadlineMs: number;
}

export const DEFAULT_STOP_COURIER: StopCourierOptions = Object.freeze({ firstCheckMs: 250, maxCheckMs: 4_000, deadlineMs: 60_000 });

/**
 * Delivers stop commands to the instance running a task. Pub/sub is at-most-once:
 * a stop published while that instance's subscriber is reconnecting is lost (the
 * original listener went silent after a Redis blip and its stops vanished). So the
 * sender keeps watching the registry and publishes again, with backoff, until the
 * task is gone or the deadline passes. Stopping is idempotent on the receiver, so a
 * repeated command never stops anything twice.
 */
export class StopCourier {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly registry: TaskRegistry,
    private readonly log: Logger,
    private readonly options: StopCourierOptions = DEFAULT_STOP_COURIER,
  ) {}

  /** Publishes the stop; rejects when the bus is unreachable (the caller reports it). Re-sends until confirmed. */
  async send(taskId: string): Promise<void> {
    await this.bus.publish(TASK_COMMANDS_TOPIC, encodeStop(taskId));
    if (!this.pending.has(taskId)) this.watch(taskId, Date.now() + this.options.deadlineMs, this.options.firstCheckMs);
  }

  /** Stops watching (e.g. the task turned out to be ours and ended). */
  forget(taskId: string): void {
    clearTimeout(this.pending.get(taskId));
    this.pending.delete(taskId);
  }

  get watching(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private watch(taskId: string, deadline: number, delayMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => void this.check(taskId, deadline, delayMs), delayMs);
    timer.unref();
    this.pending.set(taskId, timer);
  }

  private async check(taskId: string, deadline: number, delayMs: number): Promise<void> {
    if (this.closed || !this.pending.has(taskId)) return;
    try {
      if ((await this.registry.get(taskId)) === null) {
        this.pending.delete(taskId);
        return;
      }
      await this.bus.publish(TASK_COMMANDS_TOPIC, encodeStop(taskId));
      this.log.debug({ task: taskId }, 'task still registered after a stop; stop sent again');
    } catch (err) {
      this.log.debug({ task: taskId, err: errorMessage(err) }, 'cannot confirm a stop yet (backend unavailable); will retry');
    }
    if (Date.now() >= deadline) {
      this.pending.delete(taskId);
      this.log.warn({ task: taskId }, 'stop not confirmed before the deadline; the task is left to its timeout or the dead-instance reaper');
      return;
    }
    if (this.pending.has(taskId)) this.watch(taskId, deadline, Math.min(delayMs * 2, this.options.maxCheckMs));
  }
}
