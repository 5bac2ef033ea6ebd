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
  BINARY_NOT_SUPPORTED: 'SWY_BINARY_NOT_SUPPORTED',
  INTERNAL: 'SWY_INTERNAL',
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
