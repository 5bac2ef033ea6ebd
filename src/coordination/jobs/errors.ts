import { ErrorCode, SwitchyardError } from '../../errors.js';

/**
 * How a failed job attempt is treated (the job queue's vocabulary: both adapters
 * and every processor speak it). The queue retries everything that is not
 * marked permanent, so an unexpected error (a bug, a thread crash) costs a retry,
 * never a silently lost file.
 */
export class JobError extends SwitchyardError {
  constructor(
    code: ErrorCode,
    message: string,
    /** Permanent: bad input, unsupported type, 400/401/403/404 — fail at once, no retry. */
    readonly permanent: boolean,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(code, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
  /** A server's Retry-After (429/503), honoured by the backoff (still capped). */
  readonly retryAfterMs: number | undefined;
}

/** Bad input or a refusal that a retry cannot fix. */
export class PermanentJobError extends JobError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, true, options);
  }
}

/** Network, timeout, 5xx, 429, crashed thread: worth another attempt after a backoff. */
export class TransientJobError extends JobError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(code, message, false, options);
  }
}

export class JobTimeoutError extends TransientJobError {
  constructor(readonly timeoutMs: number) {
    super(ErrorCode.JOB_TIMEOUT, `job exceeded its timeout of ${timeoutMs} ms; its pool work was aborted`);
  }
}

export class JobCanceledError extends PermanentJobError {
  constructor(reason = 'canceled') {
    super(ErrorCode.JOB_CANCELED, `job canceled: ${reason}`);
  }
}

export function isPermanent(err: unknown): boolean {
  return err instanceof JobError && err.permanent;
}

/** `CODE: message` — what a file record's `error` field and job failure reasons hold. */
export function describeJobError(err: unknown): string {
  if (err instanceof SwitchyardError) return `${err.code}: ${err.message}`;
  return `${ErrorCode.JOB_FAILED}: ${err instanceof Error ? err.message : String(err)}`;
}
