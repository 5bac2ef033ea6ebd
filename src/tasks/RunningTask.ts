import type { TaskRecord } from '../coordination/ports.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { TaskCancelledError, TaskTimeoutError } from './errors.js';
import { ownerEmitter, type RoomEmit } from './ownerEvents.js';
import type { TaskExit, TaskKind, TaskRunContext } from './types.js';

/**
 * One task on this instance: its AbortController, its timeout and the one place
 * that decides how it ended. `stop` is idempotent and reports whether this call was
 * the one that stopped it, so "stop all" can prove each task stopped exactly once.
 */
export class RunningTask {
  private readonly controller = new AbortController();
  private readonly startedAt: number;
  private taskLog: Logger | null = null;

  constructor(
    readonly record: TaskRecord,
    private readonly kind: TaskKind<unknown>,
    private readonly input: unknown,
    private readonly timeoutMs: number,
    private readonly parentLog: Logger,
    private readonly emit: RoomEmit,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
  }

  /** The task's own logger, made on first use: most tasks never log, and a child logger is not free. */
  private get log(): Logger {
    return (this.taskLog ??= this.parentLog.child({ task: this.record.taskId, kind: this.record.kind }));
  }

  get taskId(): string {
    return this.record.taskId;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Aborts the task; true only for the call that actually stopped it. */
  stop(why: 'stopped' | 'shutdown'): boolean {
    if (this.controller.signal.aborted) return false;
    this.controller.abort(new TaskCancelledError(this.taskId, why));
    return true;
  }

  /**
   * Runs the kind to its end and says how it ended; never rejects. An abort (stop,
   * shutdown, timeout) ends the task at once, even if the kind is slow to notice:
   * its late result is ignored.
   */
  async run(): Promise<TaskExit> {
    const { signal } = this.controller;
    let failure: unknown;
    // A task stopped before it began never starts its kind (no upstream request).
    if (!signal.aborted) {
      try {
        await this.race();
      } catch (err) {
        failure = err;
      }
    }
    return this.exit(signal.aborted ? signal.reason : failure, signal.aborted);
  }

  /**
   * Settles as the kind's run does, or rejects with the abort reason as soon as the task
   * is stopped or times out (the timeout aborts it). One promise, one abort listener and
   * one timer per task (this was untilAborted inside withDeadline: three promises and two
   * listeners more per create); a late result or rejection of the kind is observed and dropped.
   */
  private race(): Promise<void> {
    const { controller, timeoutMs } = this;
    const { signal } = controller;
    return new Promise<void>((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => controller.abort(new TaskTimeoutError(this.taskId, timeoutMs)), Math.max(0, timeoutMs)).unref()
        : undefined;
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const settled = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      let work: Promise<void>;
      try {
        work = this.kind.run(this.context());
      } catch (err) {
        work = Promise.reject(err);
      }
      work.then(
        () => {
          settled();
          resolve();
        },
        (err: unknown) => {
          settled();
          reject(err);
        },
      );
    });
  }

  private context(): TaskRunContext<unknown> {
    const log = () => this.log;
    return {
      taskId: this.taskId,
      itemId: this.record.itemId,
      ownerId: this.record.ownerId,
      input: this.input,
      signal: this.controller.signal,
      get log() {
        return log();
      },
      emitToOwner: ownerEmitter(this.emit, this.record, log),
    };
  }

  private exit(reason: unknown, aborted: boolean): TaskExit {
    const base = { record: this.record, durationMs: this.now() - this.startedAt };
    if (aborted && reason instanceof TaskCancelledError) return { ...base, status: 'cancelled' };
    if (reason === undefined) return { ...base, status: 'completed' };
    if (reason instanceof SwitchyardError) return { ...base, status: 'failed', error: { code: reason.code, message: reason.message } };
    // Not one of ours: the details go to the log, the owner gets a generic message.
    this.log.error({ task: this.taskId, kind: this.record.kind, err: errorMessage(reason) }, 'task failed unexpectedly');
    return { ...base, status: 'failed', error: { code: ErrorCode.INTERNAL, message: `task ${this.record.kind} failed: internal error` } };
  }
}
