import type { Principal } from '../auth/tokens.js';

/** Room kinds a socket may be in (SPEC §4.2). */
export const RoomKind = {
  USER: 'user',
  CHAT: 'chat',
  CHANNEL: 'channel',
  NOTE: 'note',
} as const;
export type RoomKind = (typeof RoomKind)[keyof typeof RoomKind];

const ROOM = /^(user|chat|channel|note):([^\s]{1,200})$/;

export interface RoomName {
  readonly kind: RoomKind;
  readonly id: string;
}

/** `chat:42` → {kind: 'chat', id: '42'}; null for anything that is not a known room. */
export function parseRoom(room: string): RoomName | null {
  const m = ROOM.exec(room);
  return m ? { kind: m[1] as RoomKind, id: m[2]! } : null;
}

export const userRoom = (userId: string): string => `${RoomKind.USER}:${userId}`;
export const channelRoom = (channelId: string): string => `${RoomKind.CHANNEL}:${channelId}`;

/**
 * May `principal` join `room` (a chat/channel/note room)? The docs and chats modules
 * plug their ownership checks in here; the default lets any signed-in user in.
 */
export type AuthorizeRoom = (principal: Principal, room: RoomName) => boolean | Promise<boolean>;

export const allowSignedIn: AuthorizeRoom = () => true;

/**
 * The rule every join goes through: an admin may join anything; `user:<id>` rooms
 * only their own user (not overridable — they carry private events such as file
 * status); every other room is up to the hook.
 */
export async function mayJoin(principal: Principal, room: RoomName, authorize: AuthorizeRoom): Promise<boolean> {
  if (principal.role === 'admin') return true;
  if (room.kind === RoomKind.USER) return room.id === principal.userId;
  return (await authorize(principal, room)) === true;
}
