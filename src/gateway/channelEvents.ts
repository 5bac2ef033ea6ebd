import type { Principal } from '../auth/tokens.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import { bindToken, type CoreEventsContext } from './coreEvents.js';
import type { EventDispatcher } from './EventDispatcher.js';
import { ClientEvent, ServerEvent, asObject, requireString } from './protocol.js';
import { RoomKind, channelRoom, mayJoin, userRoom } from './RoomPolicy.js';

/** The channels a user belongs to (membership rules come from a backend later). @default none */
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
    const joined: string[] = [];
    for (const id of ids) {
      if (!conn.isOpen) break;
      if (!(await mayJoin(conn.principal, { kind: RoomKind.CHANNEL, id }, ctx.authorizeRoom))) continue;
      await ctx.rooms.join(conn, channelRoom(id));
      joined.push(id);
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
    if (conn.isOpen) await ctx.rooms.join(conn, room);
    return { room };
  });

  // Chat-scoped client events (e.g. typing): to the chat room when the socket is in it, else to the user's other sockets.
  dispatcher.register(ClientEvent.CHAT, (conn, data) => {
    const body = asObject(data, ClientEvent.CHAT);
    const chatId = requireString(body, 'chat_id', ClientEvent.CHAT);
    const chat = `${RoomKind.CHAT}:${chatId}`;
    const room = conn.rooms.has(chat) ? chat : userRoom(conn.principal.userId);
    ctx.rooms.relay(room, ServerEvent.EVENTS, { chat_id: chatId, user_id: conn.principal.userId, data: body.data ?? null }, conn);
    return {};
  });
}
