import type { TemplatedApp, us_listen_socket, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { Principal, TokenService } from '../auth/tokens.js';
import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import { ConfigError, ErrorCode, SwitchyardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import { authUpgrade, type UpgradeRequest } from './authUpgrade.js';
import { CloseCodes, type CloseCode } from './CloseCodes.js';
import { registerChannelEvents, type ChannelsOf } from './channelEvents.js';
import { ConnectionSet } from './ConnectionSet.js';
import { registerCoreEvents, type CoreEventsContext } from './coreEvents.js';
import { JsonDialect } from './Dialect.js';
import { leaveAllNotes, recheckNotes, registerNoteEvents, touchNotes } from './noteEvents.js';
import type { MembershipChange } from '../coordination/RoomMembers.js';
import { channelsOfMember, membershipRule } from './membership/MembershipRule.js';
import { parseChange, registerMembershipRoutes } from './membership/membershipRoutes.js';
import { SioServer } from './socketio/SioServer.js';
import { SioDialect } from './socketio/SioDialect.js';
import type { NotesPort } from '../http/notes.js';
import { registerEventRoutes } from './eventRoutes.js';
import { EventDispatcher, type EventHandler } from './EventDispatcher.js';
import { EventSocket } from './EventSocket.js';
import { GatewayMetrics } from './GatewayMetrics.js';
import { HttpReply } from './http/HttpReply.js';
import { HttpRouter, type HttpMethod, type RouteHandler, type RouteOptions } from './http/HttpRouter.js';
import { ClientEvent } from './protocol.js';
import { RoomHub } from './RoomHub.js';
import { RoomKind, type AuthorizeRoom } from './RoomPolicy.js';
import { coordinationReadiness, registerSystemRoutes } from './systemRoutes.js';
import { KeyedRateLimiter } from './TokenBucket.js';
import { RestLimits } from './limits/RestLimits.js';
import { WindowQuota } from './limits/WindowQuota.js';
import { ExpiryWheel, type WheelItem } from './limits/ExpiryWheel.js';
import { loadUws, type LoadedUws } from './uws.js';

export interface GatewayDeps {
  readonly config: Config;
  /** This instance's id: tags room frames on the bus (echo suppression) and sessions. */
  readonly instanceId: string;
  readonly tokens: TokenService;
  readonly coordination: Coordination;
  /** Prometheus registry the gateway adds its series to (one per runtime). */
  readonly registry: Registry;
  readonly log: Logger;
  /** Named readiness checks for `/readyz`. @default the coordination backend's ping */
  readonly readiness?: () => Promise<Record<string, boolean>>;
  /**
   * Replaces the member check of chat/channel rooms (tests, custom backends). @default the
   * room's members in the coordination backend (`rooms.open`: any signed-in user); note
   * rooms follow the document's access list once notes are wired
   */
  readonly authorizeRoom?: AuthorizeRoom;
  /** The channel ids `join-channels` joins for a user. @default the user's channel memberships (plus the `channel_ids` the client lists) */
  readonly channelsOf?: ChannelsOf;
  /** Clock in epoch ms. @default Date.now */
  readonly now?: () => number;
  /** The uWS module; tests may inject one. @default loadUws() */
  readonly uws?: LoadedUws;
}

/** A socket of an extra route (`/doc/*`) waiting for its token's expiry. */
interface RouteSocket extends WheelItem {
  readonly ws: WebSocket<unknown>;
}

/** How often forgotten per-IP upgrade buckets are pruned. */
const PRUNE_EVERY_MS = 60_000;

/**
 * The uWebSockets.js front door: the event socket `/ws`, REST routes, health and
 * metrics. Other modules extend it through `route`, `onEvent`, `authorizeRoom`
 * (deps) and `socketRoute` + `upgradeHandler` (the document socket).
 */
export class Gateway {
  /** True when the native uWS binary is active (false: the slow JS fallback). */
  readonly native: boolean;
  private readonly app: TemplatedApp;
  private readonly uws: LoadedUws;
  private readonly router: HttpRouter;
  private readonly dispatcher: EventDispatcher;
  private readonly rooms: RoomHub;
  private readonly events: EventSocket;
  private readonly sio: SioServer;
  private readonly connections: ConnectionSet;
  private readonly core: CoreEventsContext;
  private notes: NotesPort | null = null;
  private readonly metrics: GatewayMetrics;
  private readonly upgradeLimiter: KeyedRateLimiter;
  private readonly restLimits: RestLimits;
  /** Closes sockets of extra routes (`/doc/*`) when their token expires. */
  private readonly routeWheel: ExpiryWheel<RouteSocket>;
  private readonly routeSockets = new Map<WebSocket<unknown>, RouteSocket>();
  private readonly now: () => number;
  private listenSocket: us_listen_socket | null = null;
  private boundPort = 0;
  private accepting = true;
  private closed: Promise<void> | null = null;
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(private readonly deps: GatewayDeps) {
    const { config, log } = deps;
    const gw = config.gateway;
    this.uws = deps.uws ?? loadUws();
    this.native = this.uws.native;
    if (!this.native && !gw.allowUwsFallback) {
      throw new ConfigError(
        `gateway.allowUwsFallback = false but uWebSockets.js has no native binary for this Node (ABI ${process.versions.modules}) ` +
          'and fell back to its slow JS implementation; set SWITCHYARD_ALLOW_UWS_FALLBACK=1 to run anyway',
      );
    }
    log.info({ uwsNative: this.native, binary: this.uws.binary }, this.native ? 'uWebSockets.js: native' : 'uWebSockets.js: JS FALLBACK (slow)');
    this.now = deps.now ?? Date.now;
    this.app = this.uws.uws.App();
    this.routeWheel = new ExpiryWheel((s) => s.ws.end(CloseCodes.TOKEN_EXPIRED.code, CloseCodes.TOKEN_EXPIRED.reason), this.now);
    this.upgradeLimiter = new KeyedRateLimiter(gw.upgradesPerSecondPerIp, gw.upgradeBurstPerIp);
    this.pruneTimer = setInterval(() => {
      this.upgradeLimiter.prune(this.now());
      this.restLimits.prune(this.now());
    }, PRUNE_EVERY_MS).unref();

    this.metrics = new GatewayMetrics(deps.registry, {
      connections: () => this.connections.count(),
      rooms: () => this.rooms.roomCount(),
      native: this.native,
    });
    // Both dialects' native topics per room; a broadcast is framed once per dialect with members.
    this.rooms = new RoomHub(this.app, deps.coordination.bus, deps.instanceId, this.metrics, log, [JsonDialect, SioDialect], (userId) =>
      this.connections.ofUser(userId),
    );
    this.dispatcher = new EventDispatcher(log);
    const members = deps.coordination.roomMembers;
    const authorizeRoom = membershipRule({ members, open: config.rooms.open, hook: deps.authorizeRoom });
    const core: CoreEventsContext = {
      instanceId: deps.instanceId,
      tokens: deps.tokens,
      coordination: deps.coordination,
      rooms: this.rooms,
      // Note rooms follow the document's access list once the notes port is wired (the original's `note:<id>` documents first).
      authorizeRoom: async (principal, room) => {
        if (room.kind === RoomKind.NOTE && this.notes) {
          return (await this.notes.mayRead(`${RoomKind.NOTE}:${room.id}`, principal)) || (await this.notes.mayRead(room.id, principal));
        }
        return authorizeRoom(principal, room);
      },
      now: this.now,
      leaveNotes: (conn) => (this.notes ? leaveAllNotes(this.notes, conn) : Promise.resolve()),
      recheckNotes: (conn) => (this.notes ? recheckNotes(this.notes, conn, (room) => this.rooms.leave(conn, room)) : Promise.resolve()),
      maxRoomsPerSocket: config.limits.roomsPerSocket,
      admitUser: (principal) => this.connections.admitUser(principal),
      rebound: (conn, previousUserId) => this.connections.rebound(conn, previousUserId),
    };
    this.core = core;
    registerCoreEvents(this.dispatcher, core);
    registerChannelEvents(this.dispatcher, core, deps.channelsOf ?? channelsOfMember(members));
    this.connections = new ConnectionSet({
      core,
      socketsPerUser: config.limits.socketsPerUser,
      now: this.now,
      coordination: deps.coordination,
      rooms: this.rooms,
      metrics: this.metrics,
      log,
      onClosed: (conn) => (this.notes && conn.hasNotes ? leaveAllNotes(this.notes, conn) : Promise.resolve()),
    });
    const limits = {
      maxPayloadBytes: gw.eventMaxPayloadBytes,
      idleTimeoutSec: gw.idleTimeoutSec,
      maxBackpressureBytes: gw.maxBackpressureBytes,
      messagesPerSecond: gw.messagesPerSecond,
      messageBurst: gw.messageBurst,
      maxRateViolations: gw.maxRateViolations,
    };
    // Both dialects share the sessions, the dispatcher and admission; only their limits differ.
    const dialectDeps = {
      tokens: deps.tokens,
      connections: this.connections,
      dispatcher: this.dispatcher,
      metrics: this.metrics,
      log,
      now: this.now,
      admit: (ip: string) => this.admit(ip),
    };
    this.events = new EventSocket({ ...dialectDeps, limits });
    this.sio = new SioServer({
      ...dialectDeps,
      limits: {
        ...limits,
        maxPayloadBytes: gw.socketioMaxPayloadBytes,
        pingIntervalMs: gw.socketioPingIntervalMs,
        pingTimeoutMs: gw.socketioPingTimeoutMs,
        connectTimeoutMs: gw.socketioConnectTimeoutMs,
      },
    });
    const lim = config.limits;
    this.restLimits = new RestLimits({
      perUserPerSecond: lim.restPerSecondPerUser,
      perUserBurst: lim.restBurstPerUser,
      perIpPerSecond: lim.restPerSecondPerIp,
      perIpBurst: lim.restBurstPerIp,
      quotas: { uploads: new WindowQuota({ maxCount: lim.uploadsPerUser, maxBytes: lim.uploadBytesPerUser, windowMs: lim.uploadWindowMs }) },
    });
    this.router = new HttpRouter({ tokens: deps.tokens, log, maxBodyBytes: gw.maxBodyBytes, limits: this.restLimits, now: this.now });
    registerSystemRoutes(this.router, {
      instanceId: deps.instanceId,
      coordination: deps.coordination,
      registry: deps.registry,
      log,
      readiness: deps.readiness ?? coordinationReadiness(deps.coordination),
      accepting: () => this.accepting,
    });
    this.router.add(
      'GET',
      '/ws',
      () => {
        throw new SwitchyardError(ErrorCode.BAD_REQUEST, '/ws is a WebSocket endpoint: send an Upgrade request');
      },
      { auth: 'none' },
    );
    registerEventRoutes(this.router, { rooms: this.rooms });
    const evictLocal = (change: MembershipChange) => this.evict(change);
    const publish = (change: MembershipChange) => this.rooms.publishControl(change.room, JSON.stringify(change));
    registerMembershipRoutes(this.router, { members, publish, evictLocal });
    this.rooms.onControl = (room, dataJson) => {
      const change = parseChange(dataJson);
      if (change && change.room === room) this.evict(change);
      else log.warn({ room }, 'malformed membership change on the bus');
    };
    this.app.ws('/ws', this.events.behavior());
    this.sio.attach(this.app);
    this.app.any('/*', this.router.handle);
  }

  /** Starts listening on config host/port (0 = any free port); resolves with the bound port. */
  listen(): Promise<number> {
    const { host, port } = this.deps.config;
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port}`));
          return;
        }
        this.listenSocket = socket;
        this.boundPort = this.uws.uws.us_socket_local_port(socket as never);
        this.deps.log.info({ host, port: this.boundPort }, 'gateway listening');
        resolve(this.boundPort);
      });
    });
  }

  /** Which uWS implementation serves: `native` or the slow JS `fallback` (for logs). */
  get transport(): 'native' | 'fallback' {
    return this.native ? 'native' : 'fallback';
  }

  /** The bound port (0 before listen). */
  get port(): number {
    return this.boundPort;
  }

  /** Adds a REST route; `:name` segments become params, a trailing `*` matches the rest. */
  route(method: HttpMethod, pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    this.router.add(method, pattern, handler, options);
    return this;
  }

  /** Adds an event-socket event; its return value is the ack data. Built-in names cannot be replaced. */
  onEvent(event: string, handler: EventHandler): this {
    this.dispatcher.registerPublic(event, handler);
    return this;
  }

  /**
   * Serves the original client's `ydoc:*` note events over these documents (Socket.IO
   * and `/ws` alike) and checks `note:` rooms against their access lists. Once, before listen.
   */
  useNotes(notes: NotesPort): this {
    if (this.notes) throw new TypeError('notes are already wired');
    this.notes = notes;
    registerNoteEvents(this.dispatcher, this.core, { notes, log: this.deps.log, maxBytes: this.deps.config.gateway.socketioMaxPayloadBytes });
    // A heartbeat also keeps the socket's note sessions fresh (the `sessions` list of every instance).
    this.dispatcher.observe(ClientEvent.HEARTBEAT, (conn) => (conn.hasNotes ? touchNotes(notes, conn) : undefined));
    return this;
  }

  /** Sends `{event, data}` to every socket in `room` on every instance, both dialects. */
  emitToRoom(room: string, event: string, data: unknown): Promise<void> {
    return this.rooms.emit(room, event, data);
  }

  /**
   * Registers another WebSocket route (e.g. the document socket `/doc/*`). Use
   * `upgradeHandler` as its `upgrade` so it gets the same auth and admission.
   */
  socketRoute<UserData>(pattern: string, behavior: WebSocketBehavior<UserData>): this {
    // A socket whose user data carries the upgrade's principal closes with TOKEN_EXPIRED (4401) when its token's exp passes.
    const { open, close } = behavior;
    this.app.ws(pattern, {
      ...behavior,
      open: (ws) => {
        const principal = (ws.getUserData() as { principal?: Principal }).principal;
        const at = principal ? this.deps.tokens.expiresAt(principal) : null;
        if (at !== null) {
          const tracked: RouteSocket = { ws: ws as WebSocket<unknown>, wheelSlot: -1, wheelIndex: 0 };
          this.routeSockets.set(tracked.ws, tracked);
          this.routeWheel.track(tracked, at);
        }
        open?.(ws);
      },
      close: (ws, code, message) => {
        const tracked = this.routeSockets.get(ws as WebSocket<unknown>);
        if (tracked) {
          this.routeSockets.delete(tracked.ws);
          this.routeWheel.untrack(tracked);
        }
        close?.(ws, code, message);
      },
    });
    return this;
  }

  /** An authenticated, rate-limited `upgrade` handler for `socketRoute`. */
  upgradeHandler<UserData>(userData: (req: UpgradeRequest) => UserData): NonNullable<WebSocketBehavior<UserData>['upgrade']> {
    return authUpgrade<UserData>({
      tokens: this.deps.tokens,
      log: this.deps.log,
      admit: (ip) => this.admit(ip),
      userData,
      onReject: (reason) => this.metrics.upgradesRejected.inc({ reason }),
    });
  }

  /** Open event sockets on this instance (`/ws` and Socket.IO, once connected). */
  connectionCount(): number {
    return this.connections.count();
  }

  /** Rooms with at least one local member. */
  roomCount(): number {
    return this.rooms.roomCount();
  }

  /** Closes the listen socket: no new connections; upgrades still arriving get 503. */
  stopAccepting(): void {
    this.accepting = false;
    if (this.listenSocket) {
      this.uws.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
  }

  /** Closes every event socket, by default with GOING_AWAY (1001). */
  closeAll(close: CloseCode = CloseCodes.GOING_AWAY): void {
    this.connections.closeAll(close);
    this.sio.close();
  }

  /** Resolves once every closed socket's session and usage entries are gone from the pools. */
  settled(): Promise<void> {
    return this.connections.settled();
  }

  /** Stops accepting, closes every socket (GOING_AWAY), removes their sessions, drops bus subscriptions. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopAccepting();
      this.closeAll(CloseCodes.GOING_AWAY);
      clearInterval(this.pruneTimer);
      this.connections.close();
      this.routeWheel.close();
      await this.connections.settled();
      await this.rooms.close();
      // Also ends idle keep-alive HTTP connections, so the process can exit.
      (this.app as { close?: () => void }).close?.();
      this.deps.log.info('gateway closed');
    })();
    return this.closed;
  }

  /** A removed member's sockets here leave the room (admins may be in any room and stay). */
  private evict(change: MembershipChange): void {
    for (const conn of this.connections.ofUser(change.userId)) {
      if (conn.principal.role !== 'admin') this.rooms.leave(conn, change.room);
    }
  }

  private admit(ip: string): { reply: HttpReply; reason: string } | null {
    if (!this.accepting) {
      return { reply: HttpReply.error(503, ErrorCode.SHUTTING_DOWN, 'server is shutting down'), reason: 'shutting_down' };
    }
    if (!this.upgradeLimiter.take(ip, this.now())) {
      const reply = HttpReply.error(429, ErrorCode.RATE_LIMITED, 'too many connection attempts from this address', { 'retry-after': '1' });
      return { reply, reason: 'rate_limited' };
    }
    return null;
  }
}
