import type { Coordination } from '../coordination/ports.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { describeClose, type CloseCode } from './CloseCodes.js';
import type { Connection } from './Connection.js';
import { upsertSession, type CoreEventsContext } from './coreEvents.js';
import type { GatewayMetrics } from './GatewayMetrics.js';
import type { RoomHub } from './RoomHub.js';
import { userRoom } from './RoomPolicy.js';

export interface ConnectionSetDeps {
  readonly core: CoreEventsContext;
  readonly coordination: Coordination;
  readonly rooms: RoomHub;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
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
  private readonly connections = new Set<Connection>();
  /** Pool clean-ups of closed sockets not finished yet (awaited on shutdown). */
  private readonly cleanups = new Set<Promise<void>>();

  constructor(private readonly deps: ConnectionSetDeps) {}

  opened(conn: Connection): void {
    this.connections.add(conn);
    upsertSession(this.deps.core, conn).catch((err: unknown) => {
      this.deps.log.error({ sid: conn.sid, err: errorMessage(err) }, 'session upsert failed');
    });
    // Queued first, so frames sent right after open wait until the user room reaches every instance.
    conn.enqueue(() => this.deps.rooms.join(conn, userRoom(conn.principal.userId)));
    this.deps.log.debug({ sid: conn.sid, user: conn.principal.userId, ip: conn.ip, dialect: conn.dialect.name }, 'socket open');
  }

  /** From the uWS `close` handler: the handle is invalid from here on. */
  closed(conn: Connection, code: number, message: ArrayBuffer): void {
    conn.markClosed();
    if (!this.connections.delete(conn)) return;
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
}
