import type { Principal } from '../auth/tokens.js';
import type { Coordination } from '../coordination/ports.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { CloseCodes, describeClose, type CloseCode } from './CloseCodes.js';
import type { Connection, ConnectionIdentity } from './Connection.js';
import { upsertSession, type CoreEventsContext } from './coreEvents.js';
import type { GatewayMetrics } from './GatewayMetrics.js';
import { ExpiryWheel } from './limits/ExpiryWheel.js';
import type { RoomHub } from './RoomHub.js';
import { userRoom } from './RoomPolicy.js';

export interface ConnectionSetDeps {
  readonly core: CoreEventsContext;
  readonly coordination: Coordination;
  readonly rooms: RoomHub;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** Open event sockets one user may have on this instance (limits.socketsPerUser). */
  readonly socketsPerUser: number;
  /** Clock in epoch ms (token expiry). */
  readonly now: () => number;
  /** Extra clean-up of a closed socket (e.g. leaving its note documents); awaited by `settled`. */
  readonly onClosed?: (conn: Connection) => Promise<void>;
}

/**
 * The one session model behind both dialects: a socket that passed auth gets its
 * session and its `user:<id>` room; a closed one loses its rooms at once and its
 * session and usage entries as soon as the pools answer. `/ws` and Socket.IO
 * sockets live in the same set, so counts and shutdown cover both.
 */
export class ConnectionSet {
  /**
   * user id → that user's open sockets (the per-user socket limit, membership evictions,
   * the delivery of `user:<id>` rooms): the socket itself while the user has one (the
   * common case), an array beyond that. Also the set of every open socket.
   */
  private readonly byUser = new Map<string, Connection | Connection[]>();
  private size = 0;
  /** Closes a socket once its token's `exp` passes (one interval for all). */
  private readonly expiry: ExpiryWheel<Connection>;
  /** Pool clean-ups of closed sockets not finished yet (awaited on shutdown). */
  private readonly cleanups = new Set<Promise<void>>();

  constructor(private readonly deps: ConnectionSetDeps) {
    this.expiry = new ExpiryWheel((conn) => {
      deps.log.debug({ sid: conn.sid, user: conn.principal.userId }, 'token expired: closing socket');
      conn.end(CloseCodes.TOKEN_EXPIRED);
    }, deps.now);
  }

  /**
   * Throws SWY_QUOTA_EXCEEDED when `principal` already has `socketsPerUser` open sockets
   * here. Called right before a socket is accepted (the `/ws` upgrade, the Socket.IO
   * CONNECT), so the refusal reaches only that caller.
   */
  admitUser(principal: Principal): void {
    const entry = this.byUser.get(principal.userId);
    const open = entry === undefined ? 0 : Array.isArray(entry) ? entry.length : 1;
    if (open >= this.deps.socketsPerUser) {
      throw new SwitchyardError(ErrorCode.QUOTA_EXCEEDED, `at most ${this.deps.socketsPerUser} open sockets per user`);
    }
  }

  /** The open sockets of one user on this instance, as a new array (a send may close one, which unindexes it). */
  ofUser(userId: string): Connection[] {
    const entry = this.byUser.get(userId);
    return entry === undefined ? [] : Array.isArray(entry) ? [...entry] : [entry];
  }

  /** After `user-join` rebound the socket (maybe to another user, maybe a fresher token): re-index it and its expiry. */
  rebound(conn: Connection, previousUserId: string): void {
    if (previousUserId !== conn.principal.userId) {
      if (!this.unindex(conn, previousUserId)) return;
      this.index(conn);
    } else if (!this.indexed(conn)) {
      return;
    }
    this.expiry.track(conn, this.deps.core.tokens.expiresAt(conn.principal));
  }

  /** `identity` is what the socket was made from: its verified principal carries the token's expiry. */
  opened(conn: Connection, identity: ConnectionIdentity): void {
    this.index(conn);
    this.size += 1;
    this.expiry.track(conn, this.deps.core.tokens.expiresAt(identity.principal));
    upsertSession(this.deps.core, conn).catch((err: unknown) => {
      this.deps.log.error({ sid: conn.sid, err: errorMessage(err) }, 'session upsert failed');
    });
    // Queued first, so frames sent right after open wait until the user room reaches every instance.
    conn.enqueue(() => this.deps.rooms.join(conn, userRoom(conn.principal.userId)));
    this.deps.log.debug({ sid: conn.sid, user: conn.principal.userId, ip: identity.ip, dialect: conn.dialect.name }, 'socket open');
  }

  /** From the uWS `close` handler: the handle is invalid from here on. */
  closed(conn: Connection, code: number, message: ArrayBuffer): void {
    conn.markClosed();
    if (!this.unindex(conn, conn.principal.userId)) return;
    this.size -= 1;
    this.expiry.untrack(conn);
    this.deps.rooms.leaveAll(conn);
    const close = describeClose(code, Buffer.from(message).toString('utf8'));
    this.deps.metrics.closed.inc({ reason: close.label });
    this.deps.log.debug({ sid: conn.sid, code, reason: close.label }, 'socket closed');
    const { sessions, usage } = this.deps.coordination;
    const cleanup = Promise.all([sessions.remove(conn.sid), usage.removeSession(conn.sid), this.deps.onClosed?.(conn)]).then(
      () => {},
      (err: unknown) => this.deps.log.error({ sid: conn.sid, err: errorMessage(err) }, 'session clean-up failed'),
    );
    this.cleanups.add(cleanup);
    void cleanup.finally(() => this.cleanups.delete(cleanup));
  }

  count(): number {
    return this.size;
  }

  /** Closes every socket with `close` (e.g. GOING_AWAY on shutdown). */
  closeAll(close: CloseCode): void {
    const all = [...this.byUser.values()].flat();
    for (const conn of all) conn.end(close);
  }

  /** Stops the expiry interval (gateway close). */
  close(): void {
    this.expiry.close();
  }

  private index(conn: Connection): void {
    const userId = conn.principal.userId;
    const entry = this.byUser.get(userId);
    if (entry === undefined) this.byUser.set(userId, conn);
    else if (Array.isArray(entry)) entry.push(conn);
    else this.byUser.set(userId, [entry, conn]);
  }

  private indexed(conn: Connection): boolean {
    const entry = this.byUser.get(conn.principal.userId);
    return entry === conn || (Array.isArray(entry) && entry.includes(conn));
  }

  /** False when the socket was not indexed under `userId`. */
  private unindex(conn: Connection, userId: string): boolean {
    const entry = this.byUser.get(userId);
    if (entry === conn) {
      this.byUser.delete(userId);
      return true;
    }
    if (!Array.isArray(entry)) return false;
    const at = entry.indexOf(conn);
    if (at < 0) return false;
    entry.splice(at, 1);
    if (entry.length === 1) this.byUser.set(userId, entry[0]!);
    return true;
  }

  /** Resolves when the pools no longer hold any closed socket's session or usage. */
  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.allSettled([...this.cleanups]);
  }
}
