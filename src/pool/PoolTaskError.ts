import { ErrorCode, SwitchyardError } from '../errors.js';

/**
 * Why a pool task failed, in the pool's own terms: a code and whether a retry could
 * help. Callers map it to their own errors (ingest to a JobError, docs to a
 * document error), so the pool depends on no feature.
 *
 * Task handlers throw it inside a thread for expected failures (bad input); the pool
 * raises it on the main thread for what happened to the thread itself (crash,
 * memory limit, deadline).
 */
export class PoolTaskError extends SwitchyardError {
  /** True when the same task would fail the same way (bad input, memory limit, deadline). */
  readonly permanent: boolean;

  constructor(code: ErrorCode, message: string, options: { permanent: boolean; cause?: unknown }) {
    super(code, message, { cause: options.cause });
    this.permanent = options.permanent;
  }
}

/** A thread ended mid-task (crash, `process.exit`): worth another try on a fresh thread. */
export function threadCrashed(what: string, cause: unknown): PoolTaskError {
  return new PoolTaskError(ErrorCode.WORKER_CRASHED, `pool thread failed during ${what}: ${(cause as Error)?.message ?? String(cause)}`, {
    permanent: false,
    cause,
  });
}
