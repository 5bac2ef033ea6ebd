import type { RoomMembers } from '../../coordination/RoomMembers.js';
import type { ChannelsOf } from '../channelEvents.js';
import { RoomKind, channelRoom, type AuthorizeRoom } from '../RoomPolicy.js';

export interface MembershipRuleOptions {
  readonly members: RoomMembers;
  /** rooms.open: any signed-in user may join chat/channel rooms (single-tenant setups). */
  readonly open: boolean;
  /** A hook that replaces the member check for chat/channel rooms (and for note rooms when no document store is wired). */
  readonly hook?: AuthorizeRoom;
}

/**
 * Who may join `chat:` / `channel:` rooms: their members, as a backend set them
 * through `PUT /api/rooms/<room>/members/<user>` (issue 13 #2), unless `rooms.open`.
 * `user:` rooms and admins are decided before this (RoomPolicy.mayJoin); note rooms
 * by the document's access list (the gateway's notes port), closed without one.
 */
export function membershipRule(options: MembershipRuleOptions): AuthorizeRoom {
  const { members, open, hook } = options;
  return async (principal, room) => {
    if (hook) return hook(principal, room);
    if (open) return true;
    if (room.kind === RoomKind.CHAT || room.kind === RoomKind.CHANNEL) return members.isMember(`${room.kind}:${room.id}`, principal.userId);
    return false;
  };
}

const CHANNEL_PREFIX = channelRoom('');

/** `join-channels` without a list: every channel the user is a member of (the per-user index). */
export function channelsOfMember(members: RoomMembers): ChannelsOf {
  return async (principal) =>
    (await members.roomsOf(principal.userId)).filter((room) => room.startsWith(CHANNEL_PREFIX)).map((room) => room.slice(CHANNEL_PREFIX.length));
}
