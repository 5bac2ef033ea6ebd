import type { Principal } from '../auth/tokens.js';

export { RoomKind, parseRoom, userRoom, channelRoom, type RoomName } from '../http/rooms.js';
import { RoomKind, userRoom, type RoomName } from '../http/rooms.js';

const USER_ROOM_PREFIX = userRoom('');

/** Whether `room` is `user:<userId>`, without building the string. */
export const isUserRoomOf = (room: string, userId: string): boolean =>
  room.length === USER_ROOM_PREFIX.length + userId.length && room.startsWith(USER_ROOM_PREFIX) && room.endsWith(userId);

/** The user id of a `user:<id>` room; null for any other room. */
export const userOfRoom = (room: string): string | null => (room.startsWith(USER_ROOM_PREFIX) ? room.slice(USER_ROOM_PREFIX.length) : null);

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
