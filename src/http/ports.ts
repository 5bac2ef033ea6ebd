import type { WebSocketBehavior } from 'uWebSockets.js';
import type { Principal } from '../auth/tokens.js';
import type { NotesPort } from './notes.js';

/**
 * The web-facing ports: what feature modules (tasks, docs, ingest, dashboard) need
 * from the gateway to add routes, sockets and room messages. The gateway implements
 * them; features depend on these types only, never on the gateway itself.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a REST handler sees: copies of the request, never the uWS objects. */
export interface RouteContext {
  readonly method: HttpMethod;
  readonly path: string;
  /** `:name` segments of the pattern, URL-decoded; a trailing `*` is `params['*']`. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The caller, from `Authorization: Bearer`; null on routes with `auth: 'none'` / `'optional'` when absent. */
  readonly principal: Principal | null;
  /** Parsed JSON (undefined when there is no body), or the raw bytes with `rawBody`. */
  readonly body: unknown;
  readonly ip: string;
}

/** Returns a value (sent as 200 JSON) or an HttpReply, or throws a SwitchyardError (mapped to its status). */
export type RouteHandler = (ctx: RouteContext) => unknown | Promise<unknown>;

export interface RouteOptions {
  /** `required`: 401 without a valid token. @default 'required' */
  readonly auth?: 'required' | 'optional' | 'none';
  /** Hand the body over as a Buffer instead of parsing JSON (uploads). @default false */
  readonly rawBody?: boolean;
  /** Body limit in bytes for this route. @default config gateway.maxBodyBytes */
  readonly maxBodyBytes?: number;
  /**
   * A per-user window quota the gateway defines (`uploads`: limits.uploadsPerUser and
   * limits.uploadBytesPerUser per limits.uploadWindowMs), spent before the body is read;
   * over it: 429 SWY_QUOTA_EXCEEDED with Retry-After. @default none
   */
  readonly quota?: 'uploads';
}

/** A WebSocket upgrade that passed authentication and admission. */
export interface UpgradeRequest {
  readonly principal: Principal;
  readonly ip: string;
  readonly url: string;
  readonly query: URLSearchParams;
}

/** Adds REST routes. */
export interface RouteTarget {
  route(method: HttpMethod, pattern: string, handler: RouteHandler, options?: RouteOptions): unknown;
}

/** Sends an event to every socket in a room, on every instance. */
export interface RoomEmitter {
  emitToRoom(room: string, event: string, data: unknown): Promise<void>;
}

/** Adds a WebSocket route whose upgrades get the gateway's auth and admission. */
export interface SocketRouteTarget {
  socketRoute<UserData>(pattern: string, behavior: WebSocketBehavior<UserData>): unknown;
  upgradeHandler<UserData>(userData: (req: UpgradeRequest) => UserData): NonNullable<WebSocketBehavior<UserData>['upgrade']>;
}

/** What a socket event handler sees, on either dialect: copies, never the uWS socket. */
export interface SocketEventContext {
  readonly principal: Principal;
  /** The socket's session id (also the key in the session and usage pools). */
  readonly sid: string;
  readonly data: unknown;
  /** Rooms the socket is in. */
  readonly rooms: ReadonlySet<string>;
  /** False once the socket closed: a handler finishing late must not re-create what the close removed. */
  readonly isOpen: boolean;
  /** When the socket connected, epoch ms (its session record's `connectedAt`). */
  readonly connectedAt: number;
  /** Sends an event to this socket only. */
  emit(event: string, data: unknown): void;
  /** Lets `work` finish after the reply; a failure is logged, never unhandled. */
  background(work: Promise<unknown>, what: string): void;
}

/** Returns the ack data (a value: answered at once, inside uWS' callback; a promise: queued), or throws a SwitchyardError. */
export type SocketEventHandler = (ctx: SocketEventContext) => unknown | Promise<unknown>;

/** Adds a socket event (both dialects). */
export interface SocketEventTarget {
  onEvent(event: string, handler: SocketEventHandler): unknown;
}

/** Takes the Socket.IO notes port (the `ydoc:*` events over the document actors). */
export interface NotesTarget {
  useNotes(notes: NotesPort): unknown;
}

/** Everything the feature modules use of the gateway. */
export type WebHost = RouteTarget & RoomEmitter & SocketRouteTarget & SocketEventTarget & NotesTarget;
