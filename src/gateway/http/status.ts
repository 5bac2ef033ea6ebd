import { ErrorCode } from '../../errors.js';

/** HTTP status for each error code a handler may throw; unknown codes are 500. */
const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.INVALID_JSON]: 400,
  [ErrorCode.UNKNOWN_EVENT]: 400,
  [ErrorCode.UNAUTHORIZED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.STORAGE_UNAVAILABLE]: 503,
  [ErrorCode.DOC_LOAD_FAILED]: 503,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.FILE_TOO_LARGE]: 413,
  [ErrorCode.FILE_UNSUPPORTED]: 415,
  [ErrorCode.EMBEDDING_KEY_MISSING]: 400,
  [ErrorCode.EMBEDDING_KEY_UNREADABLE]: 400,
  [ErrorCode.EMBEDDING_REJECTED]: 400,
  [ErrorCode.EMBEDDING_UNAVAILABLE]: 503,
  [ErrorCode.BINARY_NOT_SUPPORTED]: 415,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.QUOTA_EXCEEDED]: 429,
  [ErrorCode.MAILBOX_FULL]: 503,
  [ErrorCode.SHUTTING_DOWN]: 503,
  [ErrorCode.BACKEND_UNAVAILABLE]: 503,
  [ErrorCode.ACTOR_STOPPED]: 503,
  [ErrorCode.ASK_TIMEOUT]: 504,
};

export function httpStatusOf(code: string): number {
  return STATUS_OF[code as ErrorCode] ?? 500;
}

const TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The status line uWS wants, e.g. "404 Not Found". */
export function statusLine(status: number): string {
  return `${status} ${TEXT[status] ?? 'Unknown'}`;
}
