import { randomBytes } from 'node:crypto';
import { Decoder, PacketType, type Packet } from 'socket.io-parser';
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { TokenService } from '../../auth/tokens.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { CloseCodes } from '../CloseCodes.js';
import { Connection, RateVerdict, type ConnectionEnv } from '../Connection.js';
import type { ConnectionSet } from '../ConnectionSet.js';
import type { EventDispatcher } from '../EventDispatcher.js';
import type { EventSocketLimits } from '../EventSocket.js';
import { hardPayloadLimit } from '../EventSocket.js';
import type { GatewayMetrics } from '../GatewayMetrics.js';
import { HttpReply, send, type ResponseState } from '../http/HttpReply.js';
import { bearerToken } from '../http/HttpRouter.js';
import { toErrorBody } from '../protocol.js';
import { EnginePacket, SioDialect, encodeConnectError, encodeConnectOk } from './SioDialect.js';

/** The path the original client uses (`io(url, {path: '/ws/socket.io'})`). */
export const SOCKETIO_PATH = '/ws/socket.io';

export interface SioLimits extends EventSocketLimits {
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  /** A socket that has not connected the default namespace within this is closed (socket.io's connectTimeout). */
  readonly connectTimeoutMs: number;
}

export interface SioServerDeps {
  readonly tokens: TokenService;
  readonly connections: ConnectionSet;
  readonly dispatcher: EventDispatcher;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  readonly limits: SioLimits;
  readonly now: () => number;
  readonly admit: (ip: string) => { readonly reply: HttpReply; readonly reason: string } | null;
}

/** What the upgrade knows until the CONNECT packet: dropped once it passed (an idle socket keeps no token). */
interface Upgraded {
  readonly ip: string;
  /** From `Authorization: Bearer` or `?token=` at the upgrade; the CONNECT packet's `auth.token` wins. */
  readonly token: string | null;
}

/** uWS copies it onto the socket object: `upgraded` until `open` hands it to the session. */
interface SioData {
  upgraded: Upgraded | null;
  session: EngineSession | null;
}

/** Engine.IO state of one websocket; `conn` exists only once the CONNECT passed auth. */
class EngineSession {
  conn: Connection | null = null;
  connecting = false;
  pingPending = false;
  closed = false;
  decoder: Decoder | null = null;
  constructor(
    readonly ws: WebSocket<SioData>,
    readonly openedAt: number,
    /** Null once connected. */
    public upgraded: Upgraded | null,
  ) {}

  sendText(frame: string): void {
    if (this.closed) return;
    this.ws.cork(() => this.ws.send(frame, false));
  }

  end(code: number, reason: string): void {
    // A connection ended through Connection.end already closed the handle.
    if (this.closed || (this.conn !== null && !this.conn.isOpen)) return;
    this.closed = true;
    this.conn?.markClosed();
    this.ws.cork(() => this.ws.end(code, reason));
  }
}

/** Socket.IO packet types that announce binary attachments (the first character after Engine.IO's `4`). */
const BINARY_EVENT = String(PacketType.BINARY_EVENT);
const BINARY_ACK = String(PacketType.BINARY_ACK);
const MAX_ATTACHMENTS = 10;

/** Socket.IO ids: 20 URL-safe characters, like socket.io's base64id. */
const newId = (): string => randomBytes(15).toString('base64url');

/** Engine.IO's answer to a transport it does not serve (its `Transport unknown`, code 0). */
const TRANSPORT_UNKNOWN = HttpReply.json(400, { code: 0, message: 'Transport unknown' });
const BAD_PROTOCOL = HttpReply.json(400, { code: 5, message: 'Unsupported protocol version' });

/**
 * The Socket.IO dialect on switchyard's own uWS sockets (SPEC §4.5): Engine.IO v4 over
 * websocket (open packet, server pings, close), Socket.IO v5 packets decoded by
 * `socket.io-parser` (binary attachments included). Auth happens at CONNECT — the
 * packet's `auth.token`, else the upgrade's token — and until it succeeds no event
 * reaches the dispatcher. After that a socket is a Connection like any `/ws` one.
 */
export class SioServer {
  private readonly sessions = new Set<EngineSession>();
  private readonly timer: NodeJS.Timeout;
  private readonly shared = new Decoder({ maxAttachments: MAX_ATTACHMENTS });
  /** The session whose text packet the shared decoder is decoding (it emits synchronously). */
  private decoding: EngineSession | null = null;
  private readonly env: ConnectionEnv;

  constructor(private readonly deps: SioServerDeps) {
    this.env = Object.freeze({ dialect: SioDialect, limits: deps.limits, metrics: deps.metrics, log: deps.log });
    // One timer for every socket, not one per socket: at tens of thousands of sockets timers cost memory and wakeups.
    this.timer = setInterval(() => this.tick(), deps.limits.pingIntervalMs).unref();
    this.shared.on('decoded', (packet: Packet) => {
      if (this.decoding) this.onPacket(this.decoding, packet);
    });
  }

  /** Registers the websocket route and answers polling requests with Engine.IO's "Transport unknown". */
  attach(app: TemplatedApp): void {
    app.ws(`${SOCKETIO_PATH}/*`, this.behavior());
    const refusePolling = (res: HttpResponse, req: HttpRequest) => {
      const state: ResponseState = { aborted: false, done: false };
      const query = new URLSearchParams(req.getQuery() ?? '');
      send(res, state, query.get('EIO') !== '4' ? BAD_PROTOCOL : TRANSPORT_UNKNOWN);
    };
    app.get(`${SOCKETIO_PATH}/*`, refusePolling);
    app.post(`${SOCKETIO_PATH}/*`, refusePolling);
  }

  count(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.timer);
    for (const s of [...this.sessions]) s.end(CloseCodes.GOING_AWAY.code, CloseCodes.GOING_AWAY.reason);
  }

  private behavior(): WebSocketBehavior<SioData> {
    const { limits } = this.deps;
    return {
      maxPayloadLength: hardPayloadLimit(limits.maxPayloadBytes),
      // Engine.IO pings keep the socket busy; uWS' idle limit only catches peers that stopped answering.
      idleTimeout: Math.max(limits.idleTimeoutSec, Math.ceil((limits.pingIntervalMs + limits.pingTimeoutMs) / 1000) + 8),
      sendPingsAutomatically: true,
      maxBackpressure: limits.maxBackpressureBytes,
      closeOnBackpressureLimit: 1,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      close: (ws, code, message) => this.onClose(ws, code, message),
    };
  }

  /** Synchronous: the token is only read here and verified at CONNECT, so no await before `upgrade`. */
  private upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const state: ResponseState = { aborted: false, done: false };
    const query = new URLSearchParams(req.getQuery() ?? '');
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    if (query.get('EIO') !== '4') return send(res, state, BAD_PROTOCOL, true);
    if (query.get('transport') !== 'websocket') return send(res, state, TRANSPORT_UNKNOWN, true);
    const refusal = this.deps.admit(ip);
    if (refusal) {
      this.deps.metrics.upgradesRejected.inc({ reason: refusal.reason });
      return send(res, state, refusal.reply, true);
    }
    const token = bearerToken(req.getHeader('authorization')) ?? query.get('token');
    res.upgrade<SioData>(
      { upgraded: { ip, token }, session: null },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  }

  private onOpen(ws: WebSocket<SioData>): void {
    const data = ws.getUserData();
    const session = new EngineSession(ws, this.deps.now(), data.upgraded);
    data.upgraded = null;
    data.session = session;
    this.sessions.add(session);
    const { pingIntervalMs, pingTimeoutMs, maxPayloadBytes } = this.deps.limits;
    session.sendText(
      EnginePacket.OPEN + JSON.stringify({ sid: newId(), upgrades: [], pingInterval: pingIntervalMs, pingTimeout: pingTimeoutMs, maxPayload: maxPayloadBytes }),
    );
  }

  private onMessage(ws: WebSocket<SioData>, message: ArrayBuffer, isBinary: boolean): void {
    const session = ws.getUserData().session;
    if (!session || session.closed) return;
    this.deps.metrics.countIn();
    if (message.byteLength > this.deps.limits.maxPayloadBytes) {
      session.end(CloseCodes.MESSAGE_TOO_BIG.code, CloseCodes.MESSAGE_TOO_BIG.reason);
      return;
    }
    if (isBinary) {
      // An attachment of a BINARY_EVENT: Engine.IO v4 sends it as a raw binary frame. Copied: uWS reuses the buffer.
      this.decode(session, Buffer.from(message.slice(0)));
      return;
    }
    const text = Buffer.from(message).toString('utf8');
    switch (text[0]) {
      case EnginePacket.MESSAGE:
        return this.decode(session, text.slice(1));
      case EnginePacket.PONG:
        session.pingPending = false;
        return;
      case EnginePacket.PING:
        return session.sendText(EnginePacket.PONG + text.slice(1));
      case EnginePacket.CLOSE:
        return session.end(CloseCodes.NORMAL.code, CloseCodes.NORMAL.reason);
      default:
        return; // upgrade / noop: nothing to do on a websocket-only server
    }
  }

  /**
   * Text packets go through one shared decoder (it holds no state between non-binary
   * packets, and emits synchronously), so an idle socket carries no decoder. A
   * BINARY_EVENT / BINARY_ACK header gets a decoder of its own until its attachments arrived.
   */
  private decode(session: EngineSession, chunk: string | Buffer): void {
    let decoder = session.decoder;
    if (!decoder && typeof chunk === 'string' && (chunk[0] === BINARY_EVENT || chunk[0] === BINARY_ACK)) {
      decoder = session.decoder = this.newDecoder(session);
    }
    this.decoding = session;
    try {
      (decoder ?? this.shared).add(chunk);
    } catch (err) {
      // As socket.io does: a packet that does not parse ends the connection (the client reconnects).
      this.deps.log.debug({ err: errorMessage(err) }, 'socket.io packet refused');
      session.end(CloseCodes.INVALID_PACKET.code, CloseCodes.INVALID_PACKET.reason);
    } finally {
      this.decoding = null;
    }
  }

  private newDecoder(session: EngineSession): Decoder {
    const decoder = new Decoder({ maxAttachments: MAX_ATTACHMENTS });
    decoder.on('decoded', (packet: Packet) => {
      decoder.destroy();
      session.decoder = null;
      this.onPacket(session, packet);
    });
    return decoder;
  }

  private onPacket(session: EngineSession, packet: Packet): void {
    switch (packet.type) {
      case PacketType.CONNECT:
        return this.onConnect(session, packet);
      case PacketType.DISCONNECT:
        return session.end(CloseCodes.NORMAL.code, CloseCodes.NORMAL.reason);
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT:
        return this.onEvent(session, packet);
      default:
        return; // ACK / BINARY_ACK: the server never asks the client for acks
    }
  }

  private onConnect(session: EngineSession, packet: Packet): void {
    if (packet.nsp !== '/') return session.sendText(encodeConnectError('Invalid namespace', undefined, packet.nsp));
    if (session.conn || session.connecting) return;
    session.connecting = true;
    const auth = packet.data as { token?: unknown } | undefined;
    const upgraded = session.upgraded;
    if (!upgraded) return;
    const token = typeof auth?.token === 'string' ? auth.token : upgraded.token;
    // A failure of verify or of the accept path lands in the catch: never an unhandled rejection.
    this.deps.tokens
      .verify(token)
      .then((result) => {
        session.connecting = false;
        if (session.closed) return;
        if (!result.ok) {
          this.deps.metrics.upgradesRejected.inc({ reason: 'unauthorized' });
          const message = `${ErrorCode.UNAUTHORIZED}: token ${result.reason}`;
          session.sendText(encodeConnectError(message, { code: ErrorCode.UNAUTHORIZED }));
          return;
        }
        try {
          this.deps.connections.admitUser(result.principal); // per-user socket limit
        } catch (err) {
          const code = err instanceof SwitchyardError ? err.code : ErrorCode.INTERNAL;
          session.sendText(encodeConnectError(`${code}: ${errorMessage(err)}`, { code }));
          return;
        }
        const identity = { sid: newId(), principal: result.principal, ip: upgraded.ip };
        const conn = new Connection(session.ws, identity, this.env, this.deps.now());
        session.conn = conn;
        session.upgraded = null;
        session.sendText(encodeConnectOk(conn.sid));
        this.deps.connections.opened(conn, identity);
      })
      .catch((err: unknown) => {
        session.connecting = false;
        this.deps.log.error({ err: errorMessage(err) }, 'socket.io connect failed');
        if (!session.conn) session.sendText(encodeConnectError(`${ErrorCode.INTERNAL}: internal error`, { code: ErrorCode.INTERNAL }));
      });
  }

  private onEvent(session: EngineSession, packet: Packet): void {
    const conn = session.conn;
    if (!conn || !conn.isOpen) return; // not connected (or auth refused): no event runs
    const ack = packet.id;
    const verdict = conn.checkRate(this.deps.now());
    if (verdict === RateVerdict.CLOSE) return conn.end(CloseCodes.RATE_LIMITED);
    const args = packet.data as unknown[];
    if (!Array.isArray(args) || typeof args[0] !== 'string' || args[0].length === 0) {
      conn.sendError(ack, { code: ErrorCode.BAD_REQUEST, message: 'an event needs a name' });
      return;
    }
    if (verdict === RateVerdict.LIMITED) {
      conn.sendError(ack, { code: ErrorCode.RATE_LIMITED, message: `over ${this.deps.limits.messagesPerSecond} messages/s; the event was dropped` });
      return;
    }
    const msg = ack === undefined ? { event: args[0], data: args[1] ?? {} } : { event: args[0], data: args[1] ?? {}, ack };
    try {
      conn.receive(this.deps.dispatcher, msg);
    } catch (err) {
      conn.sendError(ack, toErrorBody(err instanceof SwitchyardError ? err : new SwitchyardError(ErrorCode.INTERNAL, 'internal error')));
    }
  }

  private onClose(ws: WebSocket<SioData>, code: number, message: ArrayBuffer): void {
    const session = ws.getUserData().session;
    if (!session) return;
    session.closed = true;
    session.decoder?.destroy();
    this.sessions.delete(session);
    if (session.conn) this.deps.connections.closed(session.conn, code, message);
  }

  /** Every pingInterval: a socket that did not answer the last ping, or never connected, is closed; the rest are pinged. */
  private tick(): void {
    const now = this.deps.now();
    for (const session of this.sessions) {
      if (!session.conn && !session.connecting && now - session.openedAt >= this.deps.limits.connectTimeoutMs) {
        session.end(CloseCodes.CONNECT_TIMEOUT.code, CloseCodes.CONNECT_TIMEOUT.reason);
      } else if (session.pingPending) {
        session.end(CloseCodes.PING_TIMEOUT.code, CloseCodes.PING_TIMEOUT.reason);
      } else {
        session.pingPending = true;
        session.sendText(EnginePacket.PING);
      }
    }
  }
}
