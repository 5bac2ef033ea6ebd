import { randomUUID } from 'node:crypto';
import type { WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { TokenService } from '../auth/tokens.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { authUpgrade } from './authUpgrade.js';
import { CloseCodes } from './CloseCodes.js';
import type { ConnectionSet } from './ConnectionSet.js';
import { JsonDialect } from './Dialect.js';
import { Connection, RateVerdict, type ConnectionEnv, type ConnectionLimits, type SocketData } from './Connection.js';
import { replyError, type EventDispatcher } from './EventDispatcher.js';
import type { GatewayMetrics } from './GatewayMetrics.js';
import type { HttpReply } from './http/HttpReply.js';
import { EnvelopeError, decodeEnvelope, toErrorBody, type IncomingEvent } from './protocol.js';

export interface EventSocketLimits extends ConnectionLimits {
  /** Frames above this close the socket with MESSAGE_TOO_BIG (1009). */
  readonly maxPayloadBytes: number;
  readonly idleTimeoutSec: number;
}

export interface EventSocketDeps {
  readonly tokens: TokenService;
  readonly connections: ConnectionSet;
  readonly dispatcher: EventDispatcher;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  readonly limits: EventSocketLimits;
  readonly now: () => number;
  /** Upgrade admission (per-IP rate, shutdown). */
  readonly admit: (ip: string) => { readonly reply: HttpReply; readonly reason: string } | null;
}

/**
 * uWS only closes a too-big frame by dropping the TCP connection (the client sees
 * 1006 and no reason). Its hard limit is set above ours so frames between the two
 * get a proper 1009 close frame; only absurd frames hit the hard drop.
 */
/**
 * `randomUUID()` returns a rope of ~12 concatenated pieces (~400 B of heap per idle
 * socket, measured by heap snapshot); a sid lives as long as its socket, so it is flattened once.
 */
const flatUuid = (): string => Buffer.from(randomUUID(), 'latin1').toString('latin1');

export const hardPayloadLimit = (maxPayloadBytes: number): number => maxPayloadBytes * 2;

/**
 * The event socket `/ws` (SPEC §4.2): authenticated upgrade, one Connection per
 * socket, session and `user:<sub>` room on open, JSON envelopes dispatched in order,
 * and everything about the socket removed the moment it closes.
 */
export class EventSocket {
  private readonly env: ConnectionEnv;

  constructor(private readonly deps: EventSocketDeps) {
    this.env = Object.freeze({ dialect: JsonDialect, limits: deps.limits, metrics: deps.metrics, log: deps.log });
  }

  behavior(): WebSocketBehavior<SocketData> {
    const { limits } = this.deps;
    return {
      maxPayloadLength: hardPayloadLimit(limits.maxPayloadBytes),
      idleTimeout: limits.idleTimeoutSec,
      sendPingsAutomatically: true,
      maxBackpressure: limits.maxBackpressureBytes,
      // A broadcast to a socket over the limit closes it instead of skipping the frame.
      closeOnBackpressureLimit: 1,
      upgrade: authUpgrade<SocketData>({
        tokens: this.deps.tokens,
        log: this.deps.log,
        admit: this.deps.admit,
        userData: ({ principal, ip }) => {
          this.deps.connections.admitUser(principal); // per-user socket limit: 429 SWY_QUOTA_EXCEEDED
          return { identity: { sid: flatUuid(), principal, ip }, conn: null };
        },
        onReject: (reason) => this.deps.metrics.upgradesRejected.inc({ reason }),
      }),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      close: (ws, code, message) => this.onClose(ws, code, message),
    };
  }

  private onOpen(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData();
    const identity = data.identity!;
    const conn = new Connection(ws, identity, this.env, this.deps.now());
    data.identity = null;
    data.conn = conn;
    this.deps.connections.opened(conn, identity);
  }

  private onMessage(ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData().conn;
    if (!conn || !conn.isOpen) return;
    this.deps.metrics.countIn();
    const verdict = conn.checkRate(this.deps.now());
    if (verdict === RateVerdict.CLOSE) {
      conn.end(CloseCodes.RATE_LIMITED);
      return;
    }
    if (message.byteLength > this.deps.limits.maxPayloadBytes) {
      conn.end(CloseCodes.MESSAGE_TOO_BIG);
      return;
    }
    if (isBinary) {
      replyError(conn, undefined, {
        code: ErrorCode.BINARY_NOT_SUPPORTED,
        message: 'the event socket takes JSON text frames only',
      });
      return;
    }
    // Decoding copies the bytes into a string: `message` is invalid once this callback returns.
    let msg: IncomingEvent;
    try {
      msg = decodeEnvelope(Buffer.from(message).toString('utf8'));
    } catch (err) {
      replyError(conn, err instanceof EnvelopeError ? err.ack : undefined, toErrorBody(err));
      return;
    }
    if (verdict === RateVerdict.LIMITED) {
      replyError(conn, msg.ack, {
        code: ErrorCode.RATE_LIMITED,
        message: `over ${this.deps.limits.messagesPerSecond} messages/s; the frame was dropped`,
      });
      return;
    }
    try {
      conn.receive(this.deps.dispatcher, msg);
    } catch (err) {
      replyError(conn, msg.ack, toErrorBody(err instanceof SwitchyardError ? err : new SwitchyardError(ErrorCode.INTERNAL, 'internal error')));
    }
  }

  private onClose(ws: WebSocket<SocketData>, code: number, message: ArrayBuffer): void {
    const conn = ws.getUserData().conn;
    if (conn) this.deps.connections.closed(conn, code, message);
  }
}
