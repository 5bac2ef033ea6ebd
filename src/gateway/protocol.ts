import { ErrorCode, SwitchyardError } from '../errors.js';

/** Events a client sends on `/ws` (SPEC §4.2). */
export const ClientEvent = {
  USER_JOIN: 'user-join',
  HEARTBEAT: 'heartbeat',
  USAGE: 'usage',
  JOIN: 'join',
  LEAVE: 'leave',
  CHANNEL: 'events:channel',
  // The original system's events (SPEC §4.5); served on both dialects.
  JOIN_CHANNELS: 'join-channels',
  JOIN_NOTE: 'join-note',
  CHAT: 'events:chat',
  DOC_JOIN: 'ydoc:document:join',
  DOC_UPDATE: 'ydoc:document:update',
  DOC_STATE: 'ydoc:document:state',
  DOC_LEAVE: 'ydoc:document:leave',
  AWARENESS: 'ydoc:awareness:update',
} as const;

/** Events the server sends on `/ws`. */
export const ServerEvent = {
  ERROR: 'error',
  CHANNEL: 'events:channel',
  EVENTS: 'events',
  FILE_STATUS: 'file:status',
  TASK_STATUS: 'task:status',
  NOTE_EVENTS: 'note-events',
  DOC_STATE: 'ydoc:document:state',
  DOC_UPDATE: 'ydoc:document:update',
  AWARENESS: 'ydoc:awareness:update',
} as const;

/** An ack id: the client's number (or short string), echoed back in the one reply. */
export type AckId = number | string;

/** A decoded client frame. */
export interface IncomingEvent {
  readonly event: string;
  readonly data: unknown;
  readonly ack?: AckId;
}

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

const MAX_ACK_STRING = 64;

function isAckId(v: unknown): v is AckId {
  return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= MAX_ACK_STRING);
}

/** A frame that is not a valid envelope; `ack` is set when the frame still named one, so the reply can pair with it. */
export class EnvelopeError extends SwitchyardError {
  constructor(
    code: typeof ErrorCode.INVALID_JSON | typeof ErrorCode.BAD_REQUEST,
    message: string,
    readonly ack?: AckId,
  ) {
    super(code, message);
  }
}

/**
 * Decodes a text frame into `{event, data, ack?}`. Throws an EnvelopeError:
 * INVALID_JSON for bytes that are not JSON, BAD_REQUEST for JSON that is not an envelope.
 */
export function decodeEnvelope(text: string): IncomingEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EnvelopeError(ErrorCode.INVALID_JSON, 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EnvelopeError(ErrorCode.BAD_REQUEST, 'frame must be a JSON object {event, data, ack?}');
  }
  const { event, data, ack } = value as Record<string, unknown>;
  if (ack !== undefined && !isAckId(ack)) {
    throw new EnvelopeError(ErrorCode.BAD_REQUEST, `"ack" must be a number or a string of at most ${MAX_ACK_STRING} characters`);
  }
  if (typeof event !== 'string' || event.length === 0) {
    throw new EnvelopeError(ErrorCode.BAD_REQUEST, '"event" must be a non-empty string', ack);
  }
  return ack === undefined ? { event, data: data ?? {} } : { event, data: data ?? {}, ack };
}

/** A `/ws` event frame (the JSON dialect); room broadcasts go through the Dialect instead. */
export function encodeEvent(event: string, data: unknown): string {
  return JSON.stringify({ event, data });
}

/** The `{code, message}` of any thrown value; unexpected errors are reported as INTERNAL without their text. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof SwitchyardError) return { code: err.code, message: err.message };
  return { code: ErrorCode.INTERNAL, message: 'internal error' };
}

/** Small validators for event data, throwing BAD_REQUEST with the field name. */

// Payload checks are shared with the features' event handlers (web ports).
export { asObject, requireString } from '../http/payload.js';
