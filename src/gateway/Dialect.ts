import type { AckId, ErrorBody } from './protocol.js';

/**
 * How one wire dialect frames what the shared dispatcher and rooms produce. Room
 * broadcasts arrive as the JSON of the event name and of its data, stringified once
 * per broadcast; each dialect only concatenates its framing around them, so a room
 * with members of both dialects costs one `JSON.stringify`, not one per socket.
 */
export interface Dialect {
  /** Label for logs and metrics. */
  readonly name: 'json' | 'socketio';
  /** The uWS topic a room's sockets of this dialect subscribe to (one native topic per dialect and room). */
  topic(room: string): string;
  /** A server → client event from its pre-stringified name and data. */
  event(eventJson: string, dataJson: string): string;
  ack(ack: AckId, data: unknown): string;
  ackError(ack: AckId, error: ErrorBody): string;
  /** An error not tied to an ack (a frame that failed without asking for a reply). */
  error(error: ErrorBody): string;
}

/** JSON.stringify that never yields undefined (a handler returning nothing acks `null`). */
export const jsonOf = (value: unknown): string => JSON.stringify(value === undefined ? null : value) ?? 'null';

/** `/ws` (SPEC §4.2): `{"event", "data"}`, `{"ack", "data"}`, `{"ack", "error"}`. */
export const JsonDialect: Dialect = Object.freeze({
  name: 'json' as const,
  topic: (room: string) => room,
  event: (eventJson: string, dataJson: string) => `{"event":${eventJson},"data":${dataJson}}`,
  ack: (ack: AckId, data: unknown) => `{"ack":${JSON.stringify(ack)},"data":${jsonOf(data)}}`,
  ackError: (ack: AckId, error: ErrorBody) => JSON.stringify({ ack, error }),
  error: (error: ErrorBody) => `{"event":"error","data":${JSON.stringify(error)}}`,
});
