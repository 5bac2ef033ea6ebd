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
