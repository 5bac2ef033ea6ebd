/**
 * One registry of stable error codes. Every code is documented in docs/errors.md
 * (a test checks that), and HTTP / WebSocket error replies carry the code.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'SWY_CONFIG_INVALID',
  MAILBOX_FULL: 'SWY_MAILBOX_FULL',
  ASK_TIMEOUT: 'SWY_ASK_TIMEOUT',
  ACTOR_STOPPED: 'SWY_ACTOR_STOPPED',
  UNKNOWN_ACTOR_KIND: 'SWY_UNKNOWN_ACTOR_KIND',
  ACTOR_SELF_ASK: 'SWY_ACTOR_SELF_ASK',
  LEASE_LOST: 'SWY_LEASE_LOST',
  BACKEND_UNAVAILABLE: 'SWY_BACKEND_UNAVAILABLE',
  SHUTTING_DOWN: 'SWY_SHUTTING_DOWN',
  UNAUTHORIZED: 'SWY_UNAUTHORIZED',
  FORBIDDEN: 'SWY_FORBIDDEN',
  NOT_FOUND: 'SWY_NOT_FOUND',
  BAD_REQUEST: 'SWY_BAD_REQUEST',
  INVALID_JSON: 'SWY_INVALID_JSON',
  UNKNOWN_EVENT: 'SWY_UNKNOWN_EVENT',
  PAYLOAD_TOO_LARGE: 'SWY_PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'SWY_RATE_LIMITED',
  QUOTA_EXCEEDED: 'SWY_QUOTA_EXCEEDED',
  BINARY_NOT_SUPPORTED: 'SWY_BINARY_NOT_SUPPORTED',
  TASK_TIMEOUT: 'SWY_TASK_TIMEOUT',
  TASK_CANCELLED: 'SWY_TASK_CANCELLED',
  UPSTREAM_REJECTED: 'SWY_UPSTREAM_REJECTED',
  UPSTREAM_UNAVAILABLE: 'SWY_UPSTREAM_UNAVAILABLE',
  INTERNAL: 'SWY_INTERNAL',
  // storage + documents
  CONFLICT: 'SWY_CONFLICT',
  STORAGE_UNAVAILABLE: 'SWY_STORAGE_UNAVAILABLE',
  STORAGE_FAILED: 'SWY_STORAGE_FAILED',
  DOC_LOAD_FAILED: 'SWY_DOC_LOAD_FAILED',
  DOC_INVALID_MESSAGE: 'SWY_DOC_INVALID_MESSAGE',
  // ingestion
  JOB_FAILED: 'SWY_JOB_FAILED',
  JOB_TIMEOUT: 'SWY_JOB_TIMEOUT',
  JOB_CANCELED: 'SWY_JOB_CANCELED',
  JOB_STALLED: 'SWY_JOB_STALLED',
  WORKER_CRASHED: 'SWY_WORKER_CRASHED',
  WORKER_OUT_OF_MEMORY: 'SWY_WORKER_OUT_OF_MEMORY',
  POOL_TASK_TIMEOUT: 'SWY_POOL_TASK_TIMEOUT',
  FILE_UNSUPPORTED: 'SWY_FILE_UNSUPPORTED',
  FILE_CORRUPT: 'SWY_FILE_CORRUPT',
  FILE_TOO_LARGE: 'SWY_FILE_TOO_LARGE',
  EMBEDDING_KEY_MISSING: 'SWY_EMBEDDING_KEY_MISSING',
  EMBEDDING_KEY_UNREADABLE: 'SWY_EMBEDDING_KEY_UNREADABLE',
  EMBEDDING_REJECTED: 'SWY_EMBEDDING_REJECTED',
  EMBEDDING_UNAVAILABLE: 'SWY_EMBEDDING_UNAVAILABLE',
  QUEUE_MISCONFIGURED: 'SWY_QUEUE_MISCONFIGURED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class: every error switchyard raises on purpose has a stable `code`. */
export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class ConfigError extends SwitchyardError {
  constructor(message: string) {
    super(ErrorCode.CONFIG_INVALID, message);
  }
}

/** The target mailbox is at capacity and its policy is `reject`: the sender must back off. */
export class MailboxFullError extends SwitchyardError {
  constructor(readonly actor: string, readonly capacity: number) {
    super(ErrorCode.MAILBOX_FULL, `mailbox of ${actor} is full (capacity ${capacity})`);
  }
}

export class AskTimeoutError extends SwitchyardError {
  constructor(readonly actor: string, readonly timeoutMs: number) {
    super(ErrorCode.ASK_TIMEOUT, `no reply from ${actor} within ${timeoutMs} ms`);
  }
}

export class ActorStoppedError extends SwitchyardError {
  constructor(readonly actor: string, reason: string) {
    super(ErrorCode.ACTOR_STOPPED, `actor ${actor} stopped: ${reason}`);
  }
}

export class LeaseLostError extends SwitchyardError {
  constructor(readonly lockName: string) {
    super(ErrorCode.LEASE_LOST, `lease ${lockName} was lost`);
  }
}

export class BackendUnavailableError extends SwitchyardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.BACKEND_UNAVAILABLE, message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
