import { ErrorCode, SwitchyardError } from '../errors.js';

/** The task ran past its timeout and was aborted. */
export class TaskTimeoutError extends SwitchyardError {
  constructor(readonly taskId: string, readonly timeoutMs: number) {
    super(ErrorCode.TASK_TIMEOUT, `task ${taskId} timed out after ${timeoutMs} ms`);
  }
}

/** Why a task was stopped; the abort reason its kind sees on `signal.reason`. */
export class TaskCancelledError extends SwitchyardError {
  constructor(readonly taskId: string, readonly why: 'stopped' | 'shutdown') {
    super(ErrorCode.TASK_CANCELLED, why === 'shutdown' ? `task ${taskId} cancelled: instance shutting down` : `task ${taskId} stopped`);
  }
}

/**
 * The upstream model API failed. `transient` errors (network, 5xx, 429) may be retried;
 * the others (400/401/403/404, bad stream) fail the task at once.
 */
export class UpstreamError extends SwitchyardError {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status: number | null,
    /** From a `Retry-After` header, ms. */
    readonly retryAfterMs: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(transient ? ErrorCode.UPSTREAM_UNAVAILABLE : ErrorCode.UPSTREAM_REJECTED, message, options);
  }
}

/**
 * The owner already runs `tasks.maxPerUser` tasks (every instance together): the
 * create is refused (HTTP 429 with `Retry-After`); other users are not affected.
 */
export class TaskQuotaError extends SwitchyardError {
  constructor(readonly limit: number, readonly retryAfterSec: number) {
    super(ErrorCode.QUOTA_EXCEEDED, `too many running tasks: at most ${limit} per user; wait for one to end or stop one`);
  }
}
