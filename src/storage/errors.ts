import { ErrorCode, SwitchyardError } from '../errors.js';

/** The storage thread is closed, or crashed and is being restarted: the call may be retried. */
export class StorageUnavailableError extends SwitchyardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.STORAGE_UNAVAILABLE, message, options);
  }
}

/** The store refused an operation (constraint, wrong dimensions, SQLite error). */
export class StorageError extends SwitchyardError {}
