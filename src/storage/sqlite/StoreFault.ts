import type { ErrorCode } from '../../errors.js';

/**
 * An expected refusal raised inside the storage thread. Crosses the thread boundary
 * as a plain `{ storeFault: true, code, message }` object (comlink would reduce an
 * Error to its message), and becomes a SwitchyardError with the same code on the
 * caller's side.
 */
export class StoreFault extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

export interface SerializedFault {
  readonly storeFault: true;
  readonly code: ErrorCode;
  readonly message: string;
}

export function isSerializedFault(value: unknown): value is SerializedFault {
  return typeof value === 'object' && value !== null && (value as { storeFault?: unknown }).storeFault === true;
}
