import type { Principal } from '../../auth/tokens.js';
import type { MemberSets } from '../../coordination/ports.js';
import { ErrorCode, SwitchyardError } from '../../errors.js';
import type { NoteContent, NoteMember, NoteRelay, NoteState, NotesPort } from '../../http/notes.js';
import type { DocumentStore } from '../../storage/ports.js';
import { canRead } from '../access.js';
import type { DocMessage, NoteReply } from '../DocumentActor.js';

export interface NoteBridgeDeps {
  /** Asks the document's actor (the same `doc:<id>` actor as `/doc/<id>`). */
  readonly ask: (docId: string, msg: DocMessage) => Promise<NoteReply>;
  /** Is the document's actor loaded on this instance? (a leave need not load it) */
  readonly loaded: (docId: string) => boolean;
  readonly storage: DocumentStore;
  /** Cross-instance session lists, one set per document. */
  readonly sets: MemberSets;
  /** A member not refreshed (join, state, update, heartbeat) for this long drops out of `sessions`. */
  readonly sessionTtlMs: number;
  readonly now: () => number;
}

/** The set holding a document's Socket.IO ids on every instance. */
export const noteSessionsSet = (docId: string): string => `note-sessions:${docId}`;

/**
 * The Socket.IO notes protocol (`ydoc:*` events) over the document actors: every
 * join, update and leave is one actor message, so notes and y-websocket clients
 * edit one Y.Doc under one access list. The session list lives in the coordination
 * backend so that every instance answers the same `sessions` (the original client's
 * lowest id seeds an empty note).
 */
export class NoteBridge implements NotesPort {
  private relay: NoteRelay | null = null;

  constructor(private readonly deps: NoteBridgeDeps) {}

  setRelay(relay: NoteRelay): void {
    this.relay = relay;
  }

  /** Called by document actors for updates this instance's note members did not make themselves. */
  readonly relayUpdate: NoteRelay = (docId, update, userId) => this.relay?.(docId, update, userId);

  async join(docId: string, member: NoteMember): Promise<NoteState> {
    const state = unwrap(await this.deps.ask(docId, { type: 'note-join', member }));
    return { state: state!, sessions: await this.refresh(docId, member) };
  }

  async state(docId: string, member: NoteMember): Promise<NoteState> {
    const state = unwrap(await this.deps.ask(docId, { type: 'note-state', member }));
    return { state: state!, sessions: await this.refresh(docId, member) };
  }

  async update(docId: string, member: NoteMember, update: Uint8Array | null, content: NoteContent | undefined): Promise<void> {
    unwrap(await this.deps.ask(docId, { type: 'note-update', member, update, content }));
  }

  /** Keeps the member in the document's session list (heartbeat). */
  async touch(docId: string, member: NoteMember): Promise<void> {
    await this.deps.sets.add(noteSessionsSet(docId), member.sid, this.deps.now());
  }

  /** Best effort: a leave during shutdown (actors stopping) must not fail the socket's clean-up. */
  async leave(docId: string, member: NoteMember): Promise<void> {
    await this.deps.sets.remove(noteSessionsSet(docId), member.sid);
    if (this.deps.loaded(docId)) await this.deps.ask(docId, { type: 'note-leave', member }).catch(() => undefined);
  }

  async mayRead(docId: string, principal: Principal): Promise<boolean> {
    const record = await this.deps.storage.get(docId);
    return record !== null && canRead(record, principal);
  }

  private async refresh(docId: string, member: NoteMember): Promise<string[]> {
    const now = this.deps.now();
    await this.deps.sets.add(noteSessionsSet(docId), member.sid, now);
    return this.deps.sets.members(noteSessionsSet(docId), now, this.deps.sessionTtlMs);
  }
}

function unwrap(reply: NoteReply | undefined): Uint8Array | undefined {
  if (!reply) throw new SwitchyardError(ErrorCode.INTERNAL, 'document did not answer');
  if (!reply.ok) throw new SwitchyardError(reply.code, reply.message);
  return reply.state;
}
