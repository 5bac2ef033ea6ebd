import { ErrorCode, SwitchyardError } from '../errors.js';
import type { NoteMember, NotesPort } from '../http/notes.js';
import type { Logger } from '../observability/logger.js';
import type { Connection } from './Connection.js';
import { assertRoomsLeft, type CoreEventsContext } from './coreEvents.js';
import type { EventDispatcher } from './EventDispatcher.js';
import { ClientEvent, ServerEvent, asObject, requireString } from './protocol.js';

/** The room carrying a note document's `ydoc:*` relays (both dialects, every instance). Not joinable with `join`. */
export const noteRoom = (docId: string): string => `ydoc:${docId}`;

/** Document ids as `/doc/<id>` accepts them. */
const DOC_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface NoteEventsDeps {
  readonly notes: NotesPort;
  readonly log: Logger;
  /** Largest byte array accepted in one event (the socket's payload limit). */
  readonly maxBytes: number;
}

const member = (conn: Connection): NoteMember => ({ sid: conn.sid, principal: conn.principal });

/**
 * The original client's collaborative notes (SPEC §4.5): `ydoc:*` events carrying
 * Yjs updates as JSON byte arrays, applied by the same document actors as
 * `/doc/<id>` (access list included) and relayed to the document's other sockets on
 * every instance through the note's room. A malformed array is refused for that
 * socket with a coded error; nothing reaches the document.
 */
export function registerNoteEvents(dispatcher: EventDispatcher, ctx: CoreEventsContext, deps: NoteEventsDeps): void {
  const { notes } = deps;

  const stateReply = (docId: string, s: { state: Uint8Array; sessions: readonly string[] }) => ({
    document_id: docId,
    state: Array.from(s.state),
    sessions: s.sessions,
  });

  dispatcher.register(ClientEvent.DOC_JOIN, async (conn, data) => {
    const docId = documentId(data, ClientEvent.DOC_JOIN);
    assertRoomsLeft(ctx, conn, conn.notes.has(docId) ? 0 : 1);
    const s = await notes.join(docId, member(conn)); // checks read access
    if (!conn.isOpen) {
      await notes.leave(docId, member(conn));
      return null;
    }
    conn.notes.add(docId);
    await ctx.rooms.join(conn, noteRoom(docId));
    conn.sendEvent(ServerEvent.DOC_STATE, stateReply(docId, s));
    // The state travels once, in the event; an ack (when asked for) names the sessions only.
    return { document_id: docId, sessions: s.sessions };
  });

  dispatcher.register(ClientEvent.DOC_STATE, async (conn, data) => {
    const docId = joined(conn, data, ClientEvent.DOC_STATE);
    const s = await notes.state(docId, member(conn));
    conn.sendEvent(ServerEvent.DOC_STATE, stateReply(docId, s));
    return { document_id: docId, sessions: s.sessions };
  });

  dispatcher.register(ClientEvent.DOC_UPDATE, async (conn, data) => {
    const docId = joined(conn, data, ClientEvent.DOC_UPDATE);
    const body = asObject(data, ClientEvent.DOC_UPDATE);
    const update = body.update === undefined || body.update === null ? null : bytesOf(body.update, 'update', deps.maxBytes);
    const extra = body.data === undefined ? undefined : asObject(body.data, `${ClientEvent.DOC_UPDATE} data`);
    if (!update && !extra) throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${ClientEvent.DOC_UPDATE}: needs "update" (bytes) or "data" (content)`);
    await notes.update(docId, member(conn), update, extra?.content);
    const relay: Record<string, unknown> = { document_id: docId, user_id: conn.principal.userId, socket_id: conn.sid };
    if (update) relay.update = Array.isArray(body.update) ? body.update : Array.from(update);
    if (extra) relay.data = extra;
    await ctx.rooms.emit(noteRoom(docId), ServerEvent.DOC_UPDATE, relay, conn);
    return {};
  });

  dispatcher.register(ClientEvent.AWARENESS, async (conn, data) => {
    const docId = joined(conn, data, ClientEvent.AWARENESS);
    const body = asObject(data, ClientEvent.AWARENESS);
    // Opaque: the original client's awareness is its own JSON encoding, not y-protocols; only the shape is checked.
    const update = bytesOf(body.update, 'update', deps.maxBytes);
    const relay = { document_id: docId, user_id: conn.principal.userId, socket_id: conn.sid, update: Array.isArray(body.update) ? body.update : Array.from(update) };
    await ctx.rooms.emit(noteRoom(docId), ServerEvent.AWARENESS, relay, conn);
    return {};
  });

  dispatcher.register(ClientEvent.DOC_LEAVE, async (conn, data) => {
    const docId = documentId(data, ClientEvent.DOC_LEAVE);
    await leave(conn, docId);
    return {};
  });

  const leave = async (conn: Connection, docId: string): Promise<void> => {
    if (!conn.notes.delete(docId)) return;
    ctx.rooms.leave(conn, noteRoom(docId));
    await notes.leave(docId, member(conn));
  };

  // Updates not made by a note socket, from this instance's document actor to this instance's note sockets
  // only: every instance's actor applies each update from the document log and relays it itself.
  notes.setRelay((docId, update, userId) => {
    const relay = { document_id: docId, user_id: userId, socket_id: null, update: Array.from(update) };
    ctx.rooms.emitLocal(noteRoom(docId), ServerEvent.DOC_UPDATE, relay);
  });
}

/** A closed socket leaves every note document (its room is already gone with the socket). */
export async function leaveAllNotes(notes: NotesPort, conn: Connection): Promise<void> {
  const docs = [...conn.notes];
  conn.notes.clear();
  await Promise.all(docs.map((docId) => notes.leave(docId, member(conn))));
}

/** Leaves the note documents the socket's current principal may not read (after a role downgrade). */
export async function recheckNotes(notes: NotesPort, conn: Connection, leaveRoom: (room: string) => void): Promise<void> {
  for (const docId of [...conn.notes]) {
    if (await notes.mayRead(docId, conn.principal)) continue;
    conn.notes.delete(docId);
    leaveRoom(noteRoom(docId));
    await notes.leave(docId, member(conn));
  }
}

export async function touchNotes(notes: NotesPort, conn: Connection): Promise<void> {
  await Promise.all([...conn.notes].map((docId) => notes.touch(docId, member(conn))));
}

function documentId(data: unknown, event: string): string {
  const id = requireString(asObject(data, event), 'document_id', event, 128);
  if (!DOC_ID.test(id)) throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${event}: "document_id" must be 1-128 of A-Z a-z 0-9 _ . : -`);
  return id;
}

function joined(conn: Connection, data: unknown, event: string): string {
  const docId = documentId(data, event);
  if (!conn.notes.has(docId)) throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${event}: join ${docId} first (${ClientEvent.DOC_JOIN})`);
  return docId;
}

/**
 * `Array.from(Uint8Array)` as JSON — every element an integer 0..255 — or the bytes
 * themselves (a Socket.IO binary attachment arrives as a Buffer). Anything else is
 * refused before it is copied anywhere.
 */
export function bytesOf(value: unknown, field: string, maxBytes: number): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.byteLength > maxBytes) throw new SwitchyardError(ErrorCode.PAYLOAD_TOO_LARGE, `"${field}" is over ${maxBytes} bytes`);
    return new Uint8Array(value);
  }
  if (!Array.isArray(value)) throw new SwitchyardError(ErrorCode.DOC_INVALID_MESSAGE, `"${field}" must be an array of byte values (0-255)`);
  if (value.length > maxBytes) throw new SwitchyardError(ErrorCode.PAYLOAD_TOO_LARGE, `"${field}" is over ${maxBytes} bytes`);
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const b = value[i] as unknown;
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
      throw new SwitchyardError(ErrorCode.DOC_INVALID_MESSAGE, `"${field}"[${i}] is not a byte value (an integer 0-255)`);
    }
    bytes[i] = b;
  }
  return bytes;
}
