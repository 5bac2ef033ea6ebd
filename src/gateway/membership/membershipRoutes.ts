import type { Principal } from '../../auth/tokens.js';
import type { MembershipChange, RoomMembers } from '../../coordination/RoomMembers.js';
import { ErrorCode, SwitchyardError } from '../../errors.js';
import type { HttpRouter } from '../http/HttpRouter.js';
import { RoomKind, parseRoom } from '../RoomPolicy.js';

export interface MembershipRoutesDeps {
  readonly members: RoomMembers;
  /** Tells the other instances with members of the room (a control frame on the room's bus topic). */
  readonly publish: (change: MembershipChange) => Promise<void>;
  /** Drops the user's sockets on this instance from the room at once (the bus carries it to the others). */
  readonly evictLocal: (change: MembershipChange) => void;
}

const MAX_USER_ID = 256;

/**
 * `PUT` / `DELETE /api/rooms/<room>/members/<user>` and `GET /api/rooms/<room>/members`,
 * admin only (SPEC §4.6): a chat backend decides who is in which `chat:` / `channel:`
 * room. A removal travels on the room's own bus topic — it reaches exactly the instances
 * with members of that room — and each drops that user's sockets from the room — a removed member stops reading at once, not at their next join.
 */
export function registerMembershipRoutes(router: HttpRouter, deps: MembershipRoutesDeps): void {
  router.add('PUT', '/api/rooms/:room/members/:user', async ({ principal, params }) => {
    const { room, user } = target(principal!, params, 'PUT');
    const added = await deps.members.add(room, user);
    return { room, user, member: true, added };
  });

  router.add('DELETE', '/api/rooms/:room/members/:user', async ({ principal, params }) => {
    const { room, user } = target(principal!, params, 'DELETE');
    const removed = await deps.members.remove(room, user);
    const change: MembershipChange = { op: 'remove', room, userId: user };
    deps.evictLocal(change);
    await deps.publish(change);
    return { room, user, member: false, removed };
  });

  router.add('GET', '/api/rooms/:room/members', async ({ principal, params }) => {
    requireAdmin(principal!, 'GET');
    const room = memberRoom(params.room!);
    return { room, members: await deps.members.members(room) };
  });
}

function target(principal: Principal, params: Readonly<Record<string, string>>, method: string): { room: string; user: string } {
  requireAdmin(principal, method);
  const room = memberRoom(params.room!);
  const user = params.user!;
  if (user.length === 0 || user.length > MAX_USER_ID) throw new SwitchyardError(ErrorCode.BAD_REQUEST, `user id must be 1-${MAX_USER_ID} characters`);
  return { room, user };
}

function requireAdmin(principal: Principal, method: string): void {
  if (principal.role !== 'admin') throw new SwitchyardError(ErrorCode.FORBIDDEN, `${method} /api/rooms/…/members needs the admin role`);
}

/** Only chat and channel rooms have members: `user:` rooms belong to their user, `note:` rooms follow the document. */
function memberRoom(room: string): string {
  const name = parseRoom(room);
  if (!name || (name.kind !== RoomKind.CHAT && name.kind !== RoomKind.CHANNEL)) {
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, `"${room.slice(0, 64)}" is not a chat:<id> or channel:<id> room`);
  }
  return room;
}

/** Parses a change from the bus; null for anything malformed (logged by the caller). */
export function parseChange(payload: string): MembershipChange | null {
  try {
    const v = JSON.parse(payload) as Partial<MembershipChange>;
    return v.op === 'remove' && typeof v.room === 'string' && typeof v.userId === 'string' ? { op: v.op, room: v.room, userId: v.userId } : null;
  } catch {
    return null;
  }
}
