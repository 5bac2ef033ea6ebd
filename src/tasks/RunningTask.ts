import type { TaskRecord } from '../coordination/ports.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { untilAborted } from '../util/abortable.js';
import { withDeadline } from '../util/deadline.js';
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
    try {
      const log = () => this.log;
      const ctx: TaskRunContext<unknown> = {
        taskId: this.taskId,
        itemId: this.record.itemId,
        ownerId: this.record.ownerId,
        input: this.input,
        signal,
        get log() {
          return log();
        },
        emitToOwner: ownerEmitter(this.emit, this.record, log),
      };
      // A task stopped before it began never starts its kind (no upstream request).
      const work = signal.aborted ? Promise.resolve() : untilAborted(Promise.resolve().then(() => this.kind.run(ctx)), signal);
      await withDeadline(work, this.timeoutMs, () => {
        this.controller.abort(new TaskTimeoutError(this.taskId, this.timeoutMs));
        return signal.reason as Error;
      });
    } catch (err) {
      failure = err;
    }
    return this.exit(signal.aborted ? signal.reason : failure, signal.aborted);
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
