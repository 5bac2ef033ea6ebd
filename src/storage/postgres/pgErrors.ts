import { ErrorCode, SwitchyardError, errorMessage } from '../../errors.js';
import { StorageError, StorageUnavailableError } from '../errors.js';

/** SQLSTATE classes that mean "the server is not there right now", not "your write is wrong". */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];
const UNAVAILABLE_ERRNO: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/**
 * One mapping from node-postgres errors to coded storage errors, so both adapters
 * answer alike: an unreachable server is STORAGE_UNAVAILABLE (retry), anything the
 * database refused is STORAGE_FAILED; our own coded errors pass through.
 */
export function toStorageError(err: unknown, what: string): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  const code = (err as { code?: unknown }).code;
  const message = errorMessage(err);
  if (typeof code === 'string' && (UNAVAILABLE_ERRNO.has(code) || (code.length === 5 && UNAVAILABLE_CLASSES.includes(code.slice(0, 2))))) {
    return new StorageUnavailableError(`postgres unavailable during ${what}: ${message}`, { cause: err });
  }
  if (/Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end/i.test(message)) {
    return new StorageUnavailableError(`postgres unavailable during ${what}: ${message}`, { cause: err });
  }
  return new StorageError(ErrorCode.STORAGE_FAILED, `${what} failed: ${typeof code === 'string' ? `${code}: ` : ''}${message}`, { cause: err });
}

/** Runs `fn`, mapping whatever it throws through toStorageError. */
export async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStorageError(err, what);
  }
}
