import type { WebSocketBehavior } from 'uWebSockets.js';
import type { Config } from '../config/schema.js';
import { ErrorCode, MailboxFullError, SwitchyardError } from '../errors.js';
import type { SocketRouteTarget } from '../http/ports.js';
import type { Logger } from '../observability/logger.js';
import { DocConnection, type DocSocketData } from './DocConnection.js';
import type { DocMessage } from './DocumentActor.js';
import type { DocStats } from './DocStats.js';
import { DocCloseCodes, encodePermissionDenied, isAwarenessFrame } from './protocol.js';

/** Document ids: URL- and Redis-key-safe, bounded. */
export const DOC_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A per-socket rate limit: `take(now)` spends one frame's token, false when none is left. */
export interface RateLimit {
  take(now: number): boolean;
}

/** Makes one socket's limit (the composition root passes the gateway's token bucket). */
export type RateLimitFactory = (ratePerSec: number, burst: number) => RateLimit;

export interface DocumentSocketDeps {
  readonly gateway: SocketRouteTarget;
  readonly config: Config;
  readonly logger: Logger;
  readonly rateLimit: RateLimitFactory;
  /** Shared with the actors: they subtract what they take from `queuedBytes`. */
  readonly stats: DocStats;
  /** Delivers to the document's actor; throws when its mailbox is full or the system is stopping. */
  readonly tell: (docId: string, msg: DocMessage) => void;
}

/**
 * `GET /doc/<docId>`: the y-websocket protocol on uWS. The token is checked at the
 * upgrade (401 before the socket exists); the access list is checked by the
 * document actor once the document is loaded (close 4403/4404 then). Frames are
 * copied before they leave the uWS callback and handed to the actor in order; until
 * the actor admitted the socket they are held on the connection (bounded), not queued.
 */
export class DocumentSocket {
  private readonly sockets = new Set<DocConnection>();

  constructor(private readonly deps: DocumentSocketDeps) {}

  count(): number {
    return this.sockets.size;
  }

  attach(): void {
    const gw = this.deps.config.gateway;
    const { maxAwarenessBytes, messagesPerSecond, messageBurst, mailboxMaxBytes } = this.deps.config.docs;
    const limits = new WeakMap<DocConnection, RateLimit>();
    const behavior: WebSocketBehavior<DocSocketData> = {
      compression: 0,
      maxPayloadLength: gw.docMaxPayloadBytes,
      idleTimeout: gw.idleTimeoutSec,
      maxBackpressure: gw.maxBackpressureBytes,
      // A slow reader is closed rather than silently missing Yjs updates.
      closeOnBackpressureLimit: 1,
      sendPingsAutomatically: true,
      upgrade: this.deps.gateway.upgradeHandler<DocSocketData>((req) => ({ docId: docIdOf(req.url), principal: req.principal })),
      open: (ws) => {
        const data = ws.getUserData();
        const conn = new DocConnection(ws, data.docId, data.principal);
        data.conn = conn;
        limits.set(conn, this.deps.rateLimit(messagesPerSecond, messageBurst));
        this.sockets.add(conn);
        this.deliver(conn, { type: 'open', conn });
      },
      message: (ws, message, isBinary) => {
        const conn = ws.getUserData().conn;
        if (!conn || conn.closed) return;
        if (!isBinary) return conn.close(DocCloseCodes.INVALID_MESSAGE);
        if (!limits.get(conn)!.take(Date.now())) {
          // Closed, not dropped: a dropped Yjs update would leave the client diverged; a
          // reconnecting client resyncs. The frame is never queued for the document.
          conn.send(encodePermissionDenied(`${ErrorCode.RATE_LIMITED}: more than ${messagesPerSecond} document messages per second (burst ${messageBurst})`));
          return conn.close(DocCloseCodes.RATE_LIMITED);
        }
        // Refused before it is copied or queued: a read-only member could otherwise have
        // multi-MB awareness relayed to every member and republished on Redis.
        if (message.byteLength > maxAwarenessBytes && isAwarenessFrame(new Uint8Array(message, 0, 1))) {
          return conn.send(encodePermissionDenied(`${ErrorCode.PAYLOAD_TOO_LARGE}: awareness update of ${message.byteLength} bytes is over the ${maxAwarenessBytes}-byte limit`));
        }
        // uWS reuses the buffer once this callback returns.
        const data = new Uint8Array(message.slice(0));
        if (conn.admitted) return this.deliverFrame(conn, data, mailboxMaxBytes);
        // Before the access check nothing is queued for the document (the actor takes these on admission).
        if (!conn.hold(data)) conn.close(DocCloseCodes.OVERLOADED);
      },
      close: (ws) => {
        const conn = ws.getUserData().conn;
        if (!conn) return;
        conn.closed = true;
        this.sockets.delete(conn);
        this.deliver(conn, { type: 'close', conn });
      },
    };
    this.deps.gateway.socketRoute('/doc/*', behavior);
  }

  /** Closes every document socket (shutdown): clients reconnect to another instance. */
  closeAll(): void {
    for (const conn of this.sockets) conn.close(DocCloseCodes.GOING_AWAY);
  }

  /** Bounds the document's mailbox by bytes, not only by count. */
  private deliverFrame(conn: DocConnection, data: Uint8Array, maxBytes: number): void {
    const queued = this.deps.stats.queuedBytes;
    const before = queued.get(conn.docId) ?? 0;
    if (before + data.byteLength > maxBytes) return conn.close(DocCloseCodes.OVERLOADED);
    queued.set(conn.docId, before + data.byteLength);
    if (!this.deliver(conn, { type: 'frame', conn, data })) this.deps.stats.dequeued(conn.docId, data.byteLength);
  }

  /** False when the message could not be queued (the socket is closed then). */
  private deliver(conn: DocConnection, msg: DocMessage): boolean {
    try {
      this.deps.tell(conn.docId, msg);
      return true;
    } catch (err) {
      if (msg.type === 'close') return false; // stopping: the actor is going away with its sockets anyway
      conn.close(err instanceof MailboxFullError ? DocCloseCodes.OVERLOADED : DocCloseCodes.GOING_AWAY);
      if (!(err instanceof SwitchyardError)) this.deps.logger.error({ doc: conn.docId, err }, 'document message not delivered');
      return false;
    }
  }
}

function docIdOf(url: string): string {
  const raw = url.slice('/doc/'.length);
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    id = raw;
  }
  if (!DOC_ID.test(id)) throw new SwitchyardError(ErrorCode.BAD_REQUEST, 'document id must be 1-128 of A-Z a-z 0-9 _ . : -');
  return id;
}
