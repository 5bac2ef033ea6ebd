/** A WebSocket close code with its reason text (sent in the close frame) and a metric label. */
export interface CloseCode {
  readonly code: number;
  readonly reason: string;
  /** Value of the `reason` label of `switchyard_ws_closed_total`. */
  readonly label: string;
}

function close(code: number, reason: string, label: string): CloseCode {
  return Object.freeze({ code, reason, label });
}

/**
 * Every close the gateway initiates, by name. 1xxx are RFC 6455 codes; 4xxx are
 * switchyard's own (the range RFC 6455 leaves to applications).
 */
export const CloseCodes = Object.freeze({
  NORMAL: close(1000, 'normal closure', 'normal'),
  /** Server shutting down (graceful shutdown) — clients should reconnect elsewhere. */
  GOING_AWAY: close(1001, 'server going away', 'going_away'),
  /** A frame above `gateway.eventMaxPayloadBytes`. */
  MESSAGE_TOO_BIG: close(1009, 'message too big', 'message_too_big'),
  /** `gateway.maxRateViolations` over-rate messages in a row. */
  RATE_LIMITED: close(4008, 'rate limited', 'rate_limited'),
  /** Output queued for the socket passed `gateway.maxBackpressureBytes`. */
  SLOW_CONSUMER: close(4010, 'slow consumer', 'slow_consumer'),
  /** The socket's token passed its `exp` (a `user-join` with a newer token extends it); reconnect with a fresh token. */
  TOKEN_EXPIRED: close(4401, 'token expired', 'token_expired'),
  /** Socket.IO: a packet `socket.io-parser` refuses (as socket.io, the connection ends; the client reconnects). */
  INVALID_PACKET: close(4400, 'invalid socket.io packet', 'invalid_packet'),
  /** Socket.IO: no pong to the previous Engine.IO ping. */
  PING_TIMEOUT: close(4408, 'ping timeout', 'ping_timeout'),
  /** Socket.IO: no CONNECT to the default namespace within `gateway.socketioConnectTimeoutMs`. */
  CONNECT_TIMEOUT: close(4409, 'connect timeout', 'connect_timeout'),
} satisfies Record<string, CloseCode>);

/** Codes uWS reports for closes nobody sent a close frame for. */
const ABNORMAL = close(1006, 'abnormal closure', 'abnormal');
const OTHER = close(0, 'other', 'other');

const byCode = new Map<number, CloseCode>(Object.values(CloseCodes).map((c) => [c.code, c]));

/**
 * Names a close the gateway observed. uWS reports its own closes as 1006 with a text:
 * "Received too big message" for a frame over its hard limit, "" for a vanished peer
 * or a socket dropped at the backpressure limit during a room broadcast.
 */
export function describeClose(code: number, message: string): CloseCode {
  if (code === 1006 && /too big/i.test(message)) return CloseCodes.MESSAGE_TOO_BIG;
  if (code === 1006) return ABNORMAL;
  if (code === 1005) return CloseCodes.NORMAL; // client closed without a status code
  return byCode.get(code) ?? OTHER;
}
