import * as Y from 'yjs';
import { ErrorCode, errorMessage } from '../../errors.js';
import type { NoteMember } from '../../http/notes.js';
import type { DocumentRecord } from '../../storage/ports.js';
import { canRead, canWrite } from '../access.js';
import type { DocMetrics } from '../DocMetrics.js';

/** The note messages a document actor takes (asked by NoteBridge, answered with a NoteReply, never thrown). */
export type NoteMessage =
  | { readonly type: 'note-join'; readonly member: NoteMember }
  | { readonly type: 'note-state'; readonly member: NoteMember }
  | { readonly type: 'note-update'; readonly member: NoteMember; readonly update: Uint8Array | null; readonly content?: unknown }
  | { readonly type: 'note-leave'; readonly member: NoteMember };

/** What a note message answers: the state for join/state, or a coded refusal. */
export type NoteReply = { readonly ok: true; readonly state?: Uint8Array } | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** The loaded document as a note turn sees it (inside the actor's turn, so nothing changes under it). */
export interface NoteDoc {
  readonly doc: Y.Doc;
  readonly record: DocumentRecord;
  readonly metrics: DocMetrics;
}

/**
 * The Socket.IO members of one loaded document and the latest content snapshot they
 * sent. Runs inside the document actor's turns: the same access list as `/doc/<id>`,
 * and an update is parsed completely before it is applied with the member as origin.
 */
export class NoteSessions {
  private readonly members = new Map<string, NoteMember>();
  /** The latest `data.content` (md/html/json) a note client sent, kept while the document is loaded. */
  content: unknown = undefined;

  get size(): number {
    return this.members.size;
  }

  clear(): void {
    this.members.clear();
  }

  leave(sid: string): void {
    this.members.delete(sid);
  }

  /** join / state / update against a loaded document. */
  handle(msg: Exclude<NoteMessage, { type: 'note-leave' }>, d: NoteDoc): NoteReply {
    const { member } = msg;
    if (!canRead(d.record, member.principal)) return { ok: false, code: ErrorCode.FORBIDDEN, message: 'no read access to this document' };
    if (msg.type === 'note-join') this.members.set(member.sid, member);
    else if (!this.members.has(member.sid)) return { ok: false, code: ErrorCode.BAD_REQUEST, message: `join ${d.record.id} first (ydoc:document:join)` };
    if (msg.type !== 'note-update') return { ok: true, state: Y.encodeStateAsUpdate(d.doc) };
    if (!canWrite(d.record, member.principal)) {
      d.metrics.refusedWrites.inc();
      return { ok: false, code: ErrorCode.FORBIDDEN, message: 'read-only access: update refused' };
    }
    if (msg.update) {
      try {
        Y.decodeUpdate(msg.update); // parses every struct: a truncated update is refused before it touches the document
        Y.applyUpdate(d.doc, msg.update, member);
        d.metrics.clientUpdates.inc();
      } catch (err) {
        d.metrics.invalidMessages.inc({ kind: 'note-update' });
        return { ok: false, code: ErrorCode.DOC_INVALID_MESSAGE, message: `not a Yjs update: ${errorMessage(err)}` };
      }
    }
    if (msg.content !== undefined) this.content = msg.content;
    return { ok: true };
  }
}
