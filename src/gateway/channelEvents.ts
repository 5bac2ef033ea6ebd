import type { Principal } from '../auth/tokens.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import { assertRoomsLeft, bindToken, confirmMembership, joinRoom, type CoreEventsContext } from './coreEvents.js';
import type { EventDispatcher } from './EventDispatcher.js';
import { ClientEvent, ServerEvent, asObject, requireString } from './protocol.js';
import { RoomKind, channelRoom, mayJoin, userRoom } from './RoomPolicy.js';

/** The channels a user belongs to (the membership index by default: membership/MembershipRule.ts). */
export type ChannelsOf = (principal: Principal) => readonly string[] | Promise<readonly string[]>;

export const noChannels: ChannelsOf = () => [];

const MAX_CHANNELS = 1_000;

/**
 * The original system's room events (SPEC §4.5) on both dialects: `join-channels`,
 * `join-note`, `events:chat`. Every join goes through `mayJoin`, as `join` does.
 */
export function registerChannelEvents(dispatcher: EventDispatcher, ctx: CoreEventsContext, channelsOf: ChannelsOf): void {
  dispatcher.register(ClientEvent.JOIN_CHANNELS, async (conn, data) => {
    await bindToken(ctx, conn, data, ClientEvent.JOIN_CHANNELS, false);
    const listed = asObject(data, ClientEvent.JOIN_CHANNELS).channel_ids;
    if (listed !== undefined && (!Array.isArray(listed) || listed.length > MAX_CHANNELS || listed.some((id) => typeof id !== 'string' || id.length === 0 || id.length > 200))) {
      throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${ClientEvent.JOIN_CHANNELS}: "channel_ids" must be an array of at most ${MAX_CHANNELS} ids`);
    }
    const ids = [...new Set([...(await channelsOf(conn.principal)), ...((listed as string[] | undefined) ?? [])])];
    // Listed channels the user may not join are skipped, as the original server does; nothing of them is joined.
    const allowed: string[] = [];
    for (const id of ids) {
      if (await mayJoin(conn.principal, { kind: RoomKind.CHANNEL, id }, ctx.authorizeRoom)) allowed.push(id);
    }
    // All or nothing: a client over the per-socket room limit learns it instead of getting an arbitrary subset.
    assertRoomsLeft(ctx, conn, allowed.filter((id) => !conn.inRoom(channelRoom(id))).length);
    const joined: string[] = [];
    for (const id of allowed) {
      if (!conn.isOpen) break;
      await ctx.rooms.join(conn, channelRoom(id));
      if (await confirmMembership(ctx, conn, { kind: RoomKind.CHANNEL, id }, channelRoom(id))) joined.push(id);
    }
    return { channels: joined };
  });

  dispatcher.register(ClientEvent.JOIN_NOTE, async (conn, data) => {
    await bindToken(ctx, conn, data, ClientEvent.JOIN_NOTE, false);
    const noteId = requireString(asObject(data, ClientEvent.JOIN_NOTE), 'note_id', ClientEvent.JOIN_NOTE, 200);
    const room = `${RoomKind.NOTE}:${noteId}`;
    if (!(await mayJoin(conn.principal, { kind: RoomKind.NOTE, id: noteId }, ctx.authorizeRoom))) {
      throw new SwitchyardError(ErrorCode.FORBIDDEN, `not allowed to join ${room}`);
    }
    await joinRoom(ctx, conn, room);
    return { room };
  });

  // Chat-scoped client events (e.g. typing): to the chat room when the socket is in it, else to the user's other
  // sockets — and only for a chat the user may join: a non-member is refused, not quietly redirected. A socket in
  // the room takes the synchronous fast path; only the membership check of one outside it waits.
  dispatcher.register(ClientEvent.CHAT, (conn, data) => {
    const body = asObject(data, ClientEvent.CHAT);
    const chatId = requireString(body, 'chat_id', ClientEvent.CHAT);
    const chat = `${RoomKind.CHAT}:${chatId}`;
    const relay = (room: string) => ctx.rooms.relay(room, ServerEvent.EVENTS, { chat_id: chatId, user_id: conn.principal.userId, data: body.data ?? null }, conn);
    if (conn.inRoom(chat)) {
      relay(chat);
      return {};
    }
    return Promise.resolve(mayJoin(conn.principal, { kind: RoomKind.CHAT, id: chatId }, ctx.authorizeRoom)).then((allowed) => {
      if (!allowed) throw new SwitchyardError(ErrorCode.FORBIDDEN, `not a member of ${chat}`);
      relay(userRoom(conn.principal.userId));
      return {};
    });
  });
}
