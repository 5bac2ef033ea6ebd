import type { Principal, TokenService } from '../auth/tokens.js';
import type { Coordination } from '../coordination/ports.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import type { Connection } from './Connection.js';
import type { EventDispatcher } from './EventDispatcher.js';
import { ClientEvent, ServerEvent, asObject, requireString } from './protocol.js';
import type { RoomHub } from './RoomHub.js';
import { RoomKind, channelRoom, mayJoin, parseRoom, userRoom, type AuthorizeRoom, type RoomName } from './RoomPolicy.js';

/** The narrow view of the gateway the built-in events need. */
export interface CoreEventsContext {
  readonly instanceId: string;
  readonly tokens: TokenService;
  readonly coordination: Coordination;
  readonly rooms: RoomHub;
  readonly authorizeRoom: AuthorizeRoom;
  readonly now: () => number;
  /** Leaves every note document of the socket (a rebind to another user keeps none of them). */
  readonly leaveNotes?: (conn: Connection) => Promise<void>;
  /** Leaves the note documents the socket's (new) principal may no longer read. */
  readonly recheckNotes?: (conn: Connection) => Promise<void>;
  /** Rooms one socket may be in (limits.roomsPerSocket). */
  readonly maxRoomsPerSocket: number;
  /** Throws SWY_QUOTA_EXCEEDED when the user has no socket left (a rebind to another user counts as a new socket). */
  readonly admitUser?: (principal: Principal) => void;
  /** Told after the socket's principal changed (re-index by user, reschedule the token expiry). */
  readonly rebound?: (conn: Connection, previousUserId: string) => void;
}

/**
 * Joins `room` unless the socket is at `maxRoomsPerSocket` (issue 13 #4: each new
 * room may cost a Redis SUBSCRIBE). The caller has checked the membership rule.
 */
export async function joinRoom(ctx: CoreEventsContext, conn: Connection, room: string): Promise<void> {
  assertRoomsLeft(ctx, conn, conn.inRoom(room) ? 0 : 1);
  if (conn.isOpen) await ctx.rooms.join(conn, room);
}

/**
 * Re-checks a chat/channel membership once the join has landed (the room's bus topic is
 * subscribed from then on, so a later removal reaches this instance): a removal that raced
 * the join — checked before it, published before the subscription — leaves the room here.
 * False when the socket had to leave.
 */
export async function confirmMembership(ctx: CoreEventsContext, conn: Connection, name: RoomName, room: string): Promise<boolean> {
  if (name.kind !== RoomKind.CHAT && name.kind !== RoomKind.CHANNEL) return true;
  if (await mayJoin(conn.principal, name, ctx.authorizeRoom)) return true;
  ctx.rooms.leave(conn, room);
  return false;
}

/** Throws SWY_QUOTA_EXCEEDED when `more` new rooms would pass the per-socket limit. */
export function assertRoomsLeft(ctx: CoreEventsContext, conn: Connection, more: number): void {
  if (more > 0 && conn.roomCount + more > ctx.maxRoomsPerSocket) {
    throw new SwitchyardError(ErrorCode.QUOTA_EXCEEDED, `at most ${ctx.maxRoomsPerSocket} rooms per socket`);
  }
}

/**
 * After a rebind that lost the admin role: leaves every room the new principal may
 * not join (another user's `user:` room, chat/channel rooms it is no member of, note
 * documents it may not read). Issue 13 #12.
 */
async function dropForbiddenRooms(ctx: CoreEventsContext, conn: Connection): Promise<void> {
  for (const room of conn.roomList()) {
    const name = parseRoom(room);
    if (!name || !conn.isOpen) continue; // ydoc:<id> note rooms follow their documents (recheckNotes)
    if (!(await mayJoin(conn.principal, name, ctx.authorizeRoom))) ctx.rooms.leave(conn, room);
  }
  if (conn.hasNotes && conn.isOpen) await ctx.recheckNotes?.(conn);
}

/**
 * Verifies `data.auth.token` and binds the socket to it (user-join, join-channels,
 * join-note). A token of another user drops every room joined as the previous one.
 * Without a token the socket keeps the identity it connected with.
 */
export async function bindToken(ctx: CoreEventsContext, conn: Connection, data: unknown, event: string, required: boolean): Promise<void> {
  const auth = asObject(asObject(data, event).auth ?? {}, event);
  if (!required && auth.token === undefined) return;
  const result = await ctx.tokens.verify(typeof auth.token === 'string' ? auth.token : null);
  if (!result.ok) throw new SwitchyardError(ErrorCode.UNAUTHORIZED, `token ${result.reason}`);
  if (!conn.isOpen) return;
  const previous = conn.principal;
  const otherUser = previous.userId !== result.principal.userId;
  if (otherUser) ctx.admitUser?.(result.principal);
  conn.principal = result.principal;
  ctx.rebound?.(conn, previous.userId);
  if (otherUser) {
    // Another user now: nothing joined as the previous one may be kept.
    for (const room of conn.roomList()) ctx.rooms.leave(conn, room);
    if (conn.hasNotes) await ctx.leaveNotes?.(conn);
    await ctx.rooms.join(conn, userRoom(result.principal.userId));
  } else if (previous.role === 'admin' && result.principal.role !== 'admin') {
    await dropForbiddenRooms(ctx, conn);
  }
  if (conn.isOpen) await upsertSession(ctx, conn);
}

/** Writes the socket's session (open, rebind, or after a sweep dropped it). */
export function upsertSession(ctx: CoreEventsContext, conn: Connection): Promise<void> {
  const now = ctx.now();
  return ctx.coordination.sessions.upsert({
    sid: conn.sid,
    userId: conn.principal.userId,
    name: conn.principal.name,
    role: conn.principal.role,
    instanceId: ctx.instanceId,
    connectedAt: conn.connectedAt,
    lastSeenAt: now,
  });
}

/**
 * The SPEC §4.2 events. Writes to the pools check `conn.isOpen` right before they
 * are issued: a handler finishing after the disconnect must not re-create the
 * session or usage entries the close just removed.
 */
export function registerCoreEvents(dispatcher: EventDispatcher, ctx: CoreEventsContext): void {
  const { sessions, usage } = ctx.coordination;

  dispatcher.register(ClientEvent.USER_JOIN, async (conn, data) => {
    await bindToken(ctx, conn, data, ClientEvent.USER_JOIN, true);
    if (!conn.isOpen) return null;
    return { id: conn.principal.userId, name: conn.principal.name };
  });

  dispatcher.register(ClientEvent.JOIN, async (conn, data) => {
    const room = requireRoom(data, ClientEvent.JOIN);
    const name = parseRoom(room)!;
    if (!(await mayJoin(conn.principal, name, ctx.authorizeRoom))) {
      throw new SwitchyardError(ErrorCode.FORBIDDEN, `not allowed to join ${room}`);
    }
    await joinRoom(ctx, conn, room);
    if (!(await confirmMembership(ctx, conn, name, room))) throw new SwitchyardError(ErrorCode.FORBIDDEN, `not allowed to join ${room}`);
    return { room };
  });

  dispatcher.register(ClientEvent.LEAVE, (conn, data) => {
    const room = requireRoom(data, ClientEvent.LEAVE);
    if (room === userRoom(conn.principal.userId)) {
      throw new SwitchyardError(ErrorCode.BAD_REQUEST, `a socket stays in its own ${room} room`);
    }
    ctx.rooms.leave(conn, room);
    return { room };
  });

  dispatcher.register(ClientEvent.CHANNEL, (conn, data) => {
    const body = asObject(data, ClientEvent.CHANNEL);
    const channelId = requireString(body, 'channel_id', ClientEvent.CHANNEL);
    const room = channelRoom(channelId);
    if (!conn.inRoom(room)) {
      throw new SwitchyardError(ErrorCode.FORBIDDEN, `join ${room} before sending to it`);
    }
    const relay: Record<string, unknown> = {
      channel_id: channelId,
      user_id: conn.principal.userId,
      data: body.data ?? null,
    };
    if (body.message_id !== undefined) relay.message_id = body.message_id;
    ctx.rooms.relay(room, ServerEvent.CHANNEL, relay, conn);
    return {};
  });
}

function requireRoom(data: unknown, event: string): string {
  const room = requireString(asObject(data, event), 'room', event);
  if (!parseRoom(room)) {
    const kinds = Object.values(RoomKind).join(', ');
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${event}: "room" must be <kind>:<id> with kind one of ${kinds}`);
  }
  return room;
}
