import { jsonOf, type Dialect } from '../Dialect.js';
import type { AckId, ErrorBody } from '../protocol.js';

/** Engine.IO v4 packet types (the first character of a text frame). */
export const EnginePacket = { OPEN: '0', CLOSE: '1', PING: '2', PONG: '3', MESSAGE: '4', UPGRADE: '5', NOOP: '6' } as const;

/**
 * Socket.IO v5 frames on the default namespace, each inside an Engine.IO MESSAGE
 * (`4`). For the hot paths (events, acks) this is exactly what `socket.io-parser`'s
 * Encoder produces for a non-binary packet on `/` — `2[...]` for EVENT, `3<id>[...]`
 * for ACK (a test holds the two equal) — written as concatenation, so a room
 * broadcast frames the already-stringified data without parsing it again.
 */
export const SioDialect: Dialect = Object.freeze({
  name: 'socketio' as const,
  topic: (room: string) => `sio/${room}`,
  event: (eventJson: string, dataJson: string) => `42[${eventJson},${dataJson}]`,
  ack: (ack: AckId, data: unknown) => `43${ack}[${jsonOf(data)}]`,
  // Socket.IO acks have no error channel: the one argument carries `{error: {code, message}}`.
  ackError: (ack: AckId, error: ErrorBody) => `43${ack}[${JSON.stringify({ error })}]`,
  error: (error: ErrorBody) => `42["error",${JSON.stringify(error)}]`,
});

/** Engine.IO MESSAGE + Socket.IO CONNECT_ERROR, `44{"message": …}`: the client emits `connect_error` with this message, `err.data` = `data`. */
export function encodeConnectError(message: string, data?: unknown, nsp = '/'): string {
  const prefix = nsp === '/' ? '44' : `44${nsp},`;
  return `${prefix}${JSON.stringify(data === undefined ? { message } : { message, data })}`;
}

/** Engine.IO MESSAGE + Socket.IO CONNECT, `40{"sid": …}`: the namespace accepted the socket. */
export const encodeConnectOk = (sid: string): string => `40${JSON.stringify({ sid })}`;
