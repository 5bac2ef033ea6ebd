import { randomUUID } from 'node:crypto';
import type { WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { TokenService } from '../auth/tokens.js';
import type { Coordination } from '../coordination/ports.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { authUpgrade } from './authUpgrade.js';
import { CloseCodes, describeClose, type CloseCode } from './CloseCodes.js';
import { Connection, RateVerdict, type ConnectionLimits, type SocketData } from './Connection.js';
import { replyError, type EventDispatcher } from './EventDispatcher.js';
import type { GatewayMetrics } from './GatewayMetrics.js';
import type { HttpReply } from './http/HttpReply.js';
import { EnvelopeError, decodeEnvelope, toErrorBody, type IncomingEvent } from './protocol.js';
import type { RoomHub } from './RoomHub.js';
import { userRoom } from './RoomPolicy.js';
import { upsertSession, type CoreEventsContext } from './coreEvents.js';

export interface EventSocketLimits extends ConnectionLimits {
  /** Frames above this close the socket with MESSAGE_TOO_BIG (1009). */
  readonly maxPayloadBytes: number;
  readonly idleTimeoutSec: number;
}

export interface EventSocketDeps {
  readonly tokens: TokenService;
  readonly coordination: Coordination;
  readonly rooms: RoomHub;
  readonly dispatcher: EventDispatcher;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  readonly limits: EventSocketLimits;
  readonly core: CoreEventsContext;
  readonly now: () => number;
  /** Upgrade admission (per-IP rate, shutdown). */
  readonly admit: (ip: string) => { readonly reply: HttpReply; readonly reason: string } | null;
}

/**
 * uWS only closes a too-big frame by dropping the TCP connection (the client sees
 * 1006 and no reason). Its hard limit is set above ours so frames between the two
 * get a proper 1009 close frame; only absurd frames hit the hard drop.
 */
export const hardPayloadLimit = (maxPayloadBytes: number): number => maxPayloadBytes * 2;

/**
 * The event socket `/ws` (SPEC §4.2): authenticated upgrade, one Connection per
 * socket, session and `user:<sub>` room on open, JSON envelopes dispatched in order,
 * and everything about the socket removed the moment it closes.
 */
export class EventSocket {
  private readonly connections = new Set<Connection>();
  /** Pool clean-ups of closed sockets not finished yet (awaited on shutdown). */
  private readonly cleanups = new Set<Promise<void>>();

  constructor(private readonly deps: EventSocketDeps) {}

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
        userData: ({ principal, ip }) => ({ sid: randomUUID(), principal, ip }),
        onReject: (reason) => this.deps.metrics.upgradesRejected.inc({ reason }),
      }),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      close: (ws, code, message) => this.onClose(ws, code, message),
    };
  }

  count(): number {
    return this.connections.size;
  }

  /** Closes every socket with `close` (e.g. GOING_AWAY on shutdown). */
  closeAll(close: CloseCode): void {
    for (const conn of [...this.connections]) conn.end(close);
  }

  /** Resolves when the pools no longer hold any closed socket's session or usage. */
  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.allSettled([...this.cleanups]);
  }

  private onOpen(ws: WebSocket<SocketData>): void {
    const conn = new Connection(ws, this.deps.limits, this.deps.metrics, this.deps.log, this.deps.now());
    ws.getUserData().conn = conn;
    this.connections.add(conn);
    upsertSession(this.deps.core, conn).catch((err: unknown) => {
      this.deps.log.error({ sid: conn.sid, err: errorMessage(err) }, 'session upsert failed');
    });
    // Queued first, so frames sent right after open wait until the user room reaches every instance.
    conn.enqueue(() => this.deps.rooms.join(conn, userRoom(conn.principal.userId)));
    this.deps.log.debug({ sid: conn.sid, user: conn.principal.userId, ip: conn.ip }, 'socket open');
  }

  private onMessage(ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData().conn;
    if (!conn || !conn.isOpen) return;
    this.deps.metrics.messagesIn.inc();
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
      conn.enqueue(() => this.deps.dispatcher.dispatch(conn, msg));
    } catch (err) {
      replyError(conn, msg.ack, toErrorBody(err instanceof SwitchyardError ? err : new SwitchyardError(ErrorCode.INTERNAL, 'internal error')));
    }
  }

  private onClose(ws: WebSocket<SocketData>, code: number, message: ArrayBuffer): void {
    const conn = ws.getUserData().conn;
    if (!conn) return;
    conn.markClosed();
    this.connections.delete(conn);
    this.deps.rooms.leaveAll(conn);
    const close = describeClose(code, Buffer.from(message).toString('utf8'));
    this.deps.metrics.closed.inc({ reason: close.label });
    this.deps.log.debug({ sid: conn.sid, code, reason: close.label }, 'socket closed');
    const { sessions, usage } = this.deps.coordination;
    const cleanup = Promise.all([sessions.remove(conn.sid), usage.removeSession(conn.sid)]).then(
      () => {},
      (err: unknown) => this.deps.log.error({ sid: conn.sid, err: errorMessage(err) }, 'session clean-up failed'),
    );
    this.cleanups.add(cleanup);
    void cleanup.finally(() => this.cleanups.delete(cleanup));
  }
}
