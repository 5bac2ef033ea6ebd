import type { Principal } from '../auth/tokens.js';

/**
 * The port between the Socket.IO notes events (gateway) and the documents (docs/):
 * the gateway depends on this type only; docs/notes implements it over the same
 * document actors that serve `/doc/<id>`.
 */

/** One Socket.IO socket in one document. `sid` is its Socket.IO id (what `sessions` lists). */
export interface NoteMember {
  readonly sid: string;
  readonly principal: Principal;
}

/** The full document state as one Yjs update, and the Socket.IO ids in it on every instance (sorted). */
export interface NoteState {
  readonly state: Uint8Array;
  readonly sessions: readonly string[];
}

/** A content snapshot the original client sends along (`data.content`: md, html, json). */
export type NoteContent = unknown;

/**
 * A document update for this instance's note sockets, from the actor that applied it
 * (a y-websocket client here: its user; another instance or the store: null).
 */
export type NoteRelay = (docId: string, update: Uint8Array, userId: string | null) => void;

export interface NotesPort {
  /** Admits the member (read access) and answers the state; throws a SwitchyardError (NOT_FOUND, FORBIDDEN, …). */
  join(docId: string, member: NoteMember): Promise<NoteState>;
  /** The state again, for a member that joined. */
  state(docId: string, member: NoteMember): Promise<NoteState>;
  /**
   * Applies an update (and/or keeps a content snapshot) through the document actor;
   * throws FORBIDDEN for readers and DOC_INVALID_MESSAGE for bytes that are not a Yjs update.
   */
  update(docId: string, member: NoteMember, update: Uint8Array | null, content: NoteContent | undefined): Promise<void>;
  leave(docId: string, member: NoteMember): Promise<void>;
  /** Keeps the member in the document's session list (the socket's heartbeat). */
  touch(docId: string, member: NoteMember): Promise<void>;
  /** May `principal` read the document (for `join-note`)? False when it does not exist. */
  mayRead(docId: string, principal: Principal): Promise<boolean>;
  /** Where y-websocket-made updates go (the gateway sets it once). */
  setRelay(relay: NoteRelay): void;
}
