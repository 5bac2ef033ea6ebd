import type { MessageBus, TaskRegistry } from '../coordination/ports.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { RetryLoop } from './backoff.js';
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
  private readonly retries: RetryLoop;

  constructor(
    private readonly bus: MessageBus,
    private readonly registry: TaskRegistry,
    private readonly log: Logger,
    private readonly options: StopCourierOptions = DEFAULT_STOP_COURIER,
  ) {
    this.retries = new RetryLoop({ minMs: options.firstCheckMs, maxMs: options.maxCheckMs });
  }

  /** Publishes the stop; rejects when the bus is unreachable (the caller reports it). Re-sends until confirmed. */
  async send(taskId: string): Promise<void> {
    await this.bus.publish(TASK_COMMANDS_TOPIC, encodeStop(taskId));
    if (this.retries.has(taskId)) return;
    this.retries.schedule(taskId, {
      attempt: () => this.confirmOrResend(taskId),
      onRetry: (err) => {
        if (err !== undefined) this.log.debug({ task: taskId, err: errorMessage(err) }, 'cannot confirm a stop yet (backend unavailable); will retry');
      },
      deadline: Date.now() + this.options.deadlineMs,
      onGiveUp: () => this.log.warn({ task: taskId }, 'stop not confirmed before the deadline; the task is left to its timeout or the dead-instance reaper'),
    });
  }

  /** Stops watching (e.g. the task turned out to be ours and ended). */
  forget(taskId: string): void {
    this.retries.cancel(taskId);
  }

  get watching(): number {
    return this.retries.size;
  }

  close(): void {
    this.retries.close();
  }

  /** True once the task left the registry; otherwise publishes the stop again. */
  private async confirmOrResend(taskId: string): Promise<boolean> {
    if ((await this.registry.get(taskId)) === null) return true;
    await this.bus.publish(TASK_COMMANDS_TOPIC, encodeStop(taskId));
    this.log.debug({ task: taskId }, 'task still registered after a stop; stop sent again');
    return false;
  }
}
