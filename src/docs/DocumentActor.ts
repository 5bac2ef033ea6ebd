import * as Y from 'yjs';
import type { ActorContext, Behavior, StopReason } from '../actors/types.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import { NoteSessions, type NoteMessage, type NoteReply } from './notes/NoteSessions.js';
import type { DocumentRecord } from '../storage/ports.js';
import { canRead, canWrite } from './access.js';
import { loadMergedState } from './compact.js';
import { DocAwareness } from './DocAwareness.js';
import { type DocConnection, docTopic } from './DocConnection.js';
import type { DocumentLog, LogEntry } from '../coordination/DocumentLog.js';
import { AppliedCursor } from './AppliedCursor.js';
import { DocOutbox } from './DocOutbox.js';
import { UpdateBatch } from './UpdateBatch.js';

export { DocStats } from './DocStats.js';
import { DocPersistence } from './DocPersistence.js';
import * as P from './protocol.js';
import { rootTexts } from './text.js';

export type { DocActorDeps, DocMessage, DocSnapshotReply, NoteReply } from './DocMessages.js';
import type { DocActorDeps, DocMessage, DocSnapshotReply } from './DocMessages.js';

type State = 'ready' | 'missing' | 'failed';

/**
 * One open document on this instance. Loads once in onStart (concurrent joins wait
 * in the mailbox and share it), applies client and remote updates, answers sync and
 * awareness, and on unload saves, then destroys its Y.Doc and Awareness. It never
 * throws from a turn: a restart would drop every socket it serves.
 */
export class DocumentActor implements Behavior<DocMessage, unknown> {
  private state: State = 'missing';
  private record: DocumentRecord | null = null;
  private doc: Y.Doc | null = null;
  private awareness: DocAwareness | null = null;
  private readonly conns = new Set<DocConnection>();
  /** Socket.IO note members on this instance (they keep the document loaded, as sockets do). */
  private readonly notes = new NoteSessions();
  private applied = new AppliedCursor();
  /** Accepted client updates on their way into the Y.Doc; a 'settle' turn applies them. */
  private readonly batch = new UpdateBatch((delayMs) => this.ctx.schedule(delayMs, { type: 'settle' }));
  /** Upper bound of the encoded state: exact at load and at each save, plus every update applied since. */
  private sizeBound = 0;
  private outbox: DocOutbox | null = null;
  private persistence: DocPersistence | null = null;
  private unsubscribe: Array<() => unknown> = [];
  private keepalive: (() => void) | null = null;
  private ctx!: ActorContext<DocMessage>;

  constructor(private readonly docId: string, private readonly deps: DocActorDeps, private readonly graceMs: number) {}

  async onStart(ctx: ActorContext<DocMessage>): Promise<void> {
    this.ctx = ctx;
    await this.load();
  }

  /** Synchronous turns return no promise: a frame costs no microtask hop for the mailbox to await. */
  receive(msg: DocMessage): unknown {
    try {
      switch (msg.type) {
        case 'frame':
          this.deps.stats.dequeued(this.docId, msg.data.byteLength);
          return this.frame(msg.conn, msg.data);
        case 'close':
          return this.close(msg.conn);
        case 'settle':
          this.batch.settling();
          return this.settle();
        case 'remote':
          return this.applyRemote(msg.entries);
        case 'awareness-remote':
          this.awareness?.fromRemote(msg.update);
          return;
        case 'keepalive':
          this.keepalive = null;
          this.armKeepalive();
          return;
        case 'snapshot':
          return this.snapshot();
        default:
          return this.receiveAsync(msg);
      }
    } catch (err) {
      return this.turnFailed(msg, err);
    }
  }

  private async receiveAsync(msg: DocMessage): Promise<unknown> {
    try {
      switch (msg.type) {
        case 'open':
          return await this.open(msg.conn);
        case 'gap':
          return await this.reloadStored();
        case 'persist':
          return await this.persistence?.timer();
        case 'note-join':
        case 'note-state':
        case 'note-update':
        case 'note-leave':
          return await this.note(msg);
        case 'deleted':
          return await this.deleted();
      }
    } catch (err) {
      return this.turnFailed(msg, err);
    }
  }

  private turnFailed(msg: DocMessage, err: unknown): void {
    if (msg.type === 'snapshot') throw err;
    this.deps.logger.error({ doc: this.docId, msg: msg.type, err: errorMessage(err) }, 'document turn failed');
  }

  async onStop(_ctx: ActorContext<DocMessage>, reason: StopReason): Promise<void> {
    this.keepalive?.();
    this.outbox?.flushRelay();
    this.settle();
    this.outbox?.flushNow();
    try {
      await this.outbox?.drain();
      await this.persistence?.flush();
    } catch (err) {
      this.deps.logger.error({ doc: this.docId, err: errorMessage(err) }, 'document flush on unload failed');
    }
    await this.persistence?.release();
    for (const off of this.unsubscribe) await off();
    for (const conn of this.conns) conn.close(P.DocCloseCodes.GOING_AWAY);
    this.conns.clear();
    this.notes.clear();
    this.deps.stats.connections.delete(this.docId);
    this.deps.stats.queuedBytes.delete(this.docId); // frames left in the mailbox go with it
    this.awareness?.destroy();
    if (this.doc) {
      this.doc.destroy();
      this.deps.stats.loaded -= 1;
    }
    this.awareness = null;
    this.doc = null;
    this.deps.logger.debug({ doc: this.docId, reason }, 'document unloaded');
  }

  // ---- load ---------------------------------------------------------------

  private async load(): Promise<void> {
    const { storage, log, metrics } = this.deps;
    try {
      this.record = await storage.get(this.docId);
      if (!this.record) {
        this.state = 'missing';
        metrics.loads.inc({ result: 'missing' });
        return;
      }
      const { state, lastId } = await loadMergedState(storage, log, this.deps.compact, this.docId);
      this.init(state, lastId);
      metrics.loads.inc({ result: 'ok' });
    } catch (err) {
      // An empty replica must never overwrite stored content: no edits, no saves.
      this.state = 'failed';
      metrics.loads.inc({ result: 'failed' });
      this.deps.logger.error({ doc: this.docId, err: errorMessage(err) }, 'document load failed; it accepts no edits and is never saved');
    }
  }

  private init(merged: Uint8Array | null, lastId: string): void {
    // No doc.on('update'): every change is applied in this file with its bytes at hand (see changed()),
    // so Yjs never re-encodes a transaction that the actor would only forward.
    const doc = new Y.Doc();
    if (merged) Y.applyUpdate(doc, merged, 'load');
    this.doc = doc;
    this.deps.stats.loaded += 1;
    this.applied = new AppliedCursor(lastId);
    this.sizeBound = merged?.byteLength ?? 0;
    this.state = 'ready';
    const topic = docTopic(this.docId);
    this.outbox = new DocOutbox(this.docId, this.deps, topic, () => this.conns);
    this.persistence = new DocPersistence(
      { docId: this.docId, owner: this.deps.instanceId, ...this.deps, options: this.deps.persistence },
      {
        snapshot: () => {
          this.settle();
          const state = Y.encodeStateAsUpdate(doc);
          this.sizeBound = state.byteLength;
          return { state, appliedId: this.applied.id };
        },
        mergeStored: (state) => this.mergeStored(state),
        lastOwnId: () => (this.outbox ? this.outbox.lastOwnId : null),
        schedule: (delayMs) => this.ctx.schedule(delayMs, { type: 'persist' }),
      },
    );
    this.persistence.enable();
    this.awareness = new DocAwareness(doc, this.docId, this.deps, this.outbox);
    this.unsubscribe.push(
      this.deps.log.subscribe(this.docId, lastId, {
        entries: (entries) => {
          this.deps.tell(this.docId, { type: 'remote', entries });
          this.applied.told();
        },
        gap: () => this.deps.tell(this.docId, { type: 'gap' }),
        origin: this.deps.instanceId,
        caughtUp: (id) => this.applied.caughtUp(id),
      }),
    );
    this.unsubscribe.push(this.awareness.subscribeRemote((update) => this.deps.tell(this.docId, { type: 'awareness-remote', update })));
  }

  private async reloadStored(): Promise<void> {
    if (this.state !== 'ready' || !this.doc) return;
    const stored = await this.deps.storage.loadState(this.docId);
    if (stored) this.mergeStored(stored);
  }

  /** Merges the stored state (idempotent); what it adds is sent on and appended like a local change. */
  private mergeStored(stored: Uint8Array): void {
    this.settle();
    const doc = this.doc!;
    const before = Y.encodeStateVector(doc);
    Y.applyUpdate(doc, stored, 'storage');
    const added = Y.encodeStateAsUpdate(doc, before);
    if (!P.isEmptyUpdate(added)) this.changed(added, true);
  }

  /**
   * One accepted change (applied, or a client update in the batch): to the local sockets
   * (the client's own frame when there is one, not back to it), to this instance's note
   * sockets unless a note member made it (the gateway relays those; on every instance the
   * actor that applied it does, so no bus traffic), to the log when made here, and
   * marked for the next save; nothing goes to note sockets while the document has no note
   * member here.
   */
  private changed(update: Uint8Array, local: boolean, from: DocConnection | null = null, frame?: Uint8Array, byNote = false): void {
    this.outbox!.send(update, from, frame);
    if (local) this.outbox!.local(update);
    this.persistence!.markDirty();
    if (this.notes.size > 0 && !byNote) this.deps.noteRelay?.(this.docId, update, from ? from.principal.userId : null);
  }

  // ---- connections ----------------------------------------------------------

  private async open(conn: DocConnection): Promise<void> {
    if (conn.closed) return;
    if (this.state === 'failed') await this.retryLoad();
    if (this.state === 'missing') return conn.close(P.DocCloseCodes.NOT_FOUND);
    if (this.state === 'failed' || !this.doc || !this.awareness) return conn.close(P.DocCloseCodes.UNAVAILABLE);
    if (!canRead(this.record!, conn.principal)) {
      conn.send(P.encodePermissionDenied('no read access to this document'));
      return conn.close(P.DocCloseCodes.FORBIDDEN);
    }
    conn.canWrite = canWrite(this.record!, conn.principal);
    conn.admitted = true;
    this.conns.add(conn);
    this.deps.stats.connections.set(this.docId, this.conns.size);
    conn.subscribe(docTopic(this.docId));
    this.settle();
    conn.send(P.encodeSyncStep1(this.doc));
    if (this.awareness.size > 0) conn.send(this.awareness.encodeAll());
    this.armKeepalive();
    // What the client sent before its access check, in order, ahead of anything queued since.
    for (const frame of conn.takeHeld()) this.frame(conn, frame);
  }

  private async retryLoad(): Promise<void> {
    this.state = 'missing';
    await this.load();
  }

  private close(conn: DocConnection): void {
    if (!this.conns.delete(conn)) return;
    if (this.conns.size > 0) this.deps.stats.connections.set(this.docId, this.conns.size);
    else this.deps.stats.connections.delete(this.docId);
    this.awareness?.leave(conn);
    this.releaseIfAlone();
  }

  /** Nobody left: no timers once saves are done, so the actor passivates after its grace period. */
  private releaseIfAlone(): void {
    if (this.conns.size > 0 || this.notes.size > 0) return;
    this.keepalive?.();
    this.keepalive = null;
  }

  /** While anyone is connected a pending timer keeps the actor from passivating. */
  private armKeepalive(): void {
    if (this.keepalive || (this.conns.size === 0 && this.notes.size === 0)) return;
    this.keepalive = this.ctx.schedule(this.graceMs, { type: 'keepalive' });
  }

  private frame(conn: DocConnection, data: Uint8Array): void {
    if (conn.closed || !conn.admitted || !this.doc || !this.awareness) return;
    let msg: P.IncomingMessage;
    try {
      msg = P.decodeMessage(data);
    } catch (err) {
      return this.refuse(conn, 'malformed', err);
    }
    switch (msg.type) {
      case P.MessageType.Sync:
        if (msg.sync === P.SyncType.Step1) {
          this.settle();
          return conn.send(P.encodeSyncStep2(this.doc, msg.stateVector));
        }
        if (!conn.canWrite) {
          // A reader's own sync step 2 is usually empty; anything else is an edit it may not make.
          if (!P.isEmptyUpdate(msg.update)) {
            this.deps.metrics.refusedWrites.inc();
            conn.send(P.encodePermissionDenied('read-only access: update refused'));
          }
          return;
        }
        if (this.sizeBound + msg.update.byteLength > this.deps.maxDocumentBytes && !P.isEmptyUpdate(msg.update)) {
          // Closed, not just dropped: the client would otherwise believe the update was taken.
          conn.send(P.encodePermissionDenied(`${ErrorCode.PAYLOAD_TOO_LARGE}: the document would pass its ${this.deps.maxDocumentBytes}-byte limit`));
          return conn.close(P.DocCloseCodes.TOO_LARGE);
        }
        if (P.isNoOpUpdate(msg.update)) return;
        this.sizeBound += msg.update.byteLength;
        this.deps.metrics.clientUpdates.inc();
        // An update message is forwarded byte for byte; a sync step 2 is re-framed as an update.
        this.changed(msg.update, true, conn, msg.sync === P.SyncType.Update ? data : undefined);
        if (this.batch.add(msg.update, conn)) this.settle();
        return;
      case P.MessageType.Awareness:
        try {
          this.awareness.fromClient(conn, msg.update);
        } catch (err) {
          return this.refuse(conn, 'awareness', err);
        }
        return;
      case P.MessageType.QueryAwareness:
        return conn.send(this.awareness.encodeAll());
      case P.MessageType.Auth:
        return;
    }
  }

  /** Applies the accepted updates not yet in the Y.Doc (UpdateBatch); whatever reads or writes the Y.Doc calls it first. */
  private settle(): void {
    if (!this.doc) return;
    const failed = this.batch.applyTo(this.doc);
    if (!failed) return;
    // Read completely, yet Yjs threw integrating it: the sender is refused as for a malformed update.
    for (const { from, err } of failed) {
      if (from) this.refuse(from, 'update', err);
      else this.deps.logger.error({ doc: this.docId, err: errorMessage(err) }, 'document update did not apply');
    }
  }

  private refuse(conn: DocConnection, kind: string, err: unknown): void {
    this.deps.metrics.invalidMessages.inc({ kind });
    this.deps.logger.info({ doc: this.docId, user: conn.principal.userId, kind, err: errorMessage(err) }, 'document frame refused; socket closed');
    conn.close(P.DocCloseCodes.INVALID_MESSAGE);
  }

  // ---- replication ------------------------------------------------------------

  private applyRemote(entries: readonly LogEntry[]): void {
    this.applied.applied(entries.at(-1)?.id);
    if (!this.doc || entries.length === 0) return;
    this.settle();
    const foreign = entries.filter((e) => e.origin !== this.deps.instanceId).map((e) => e.update);
    if (foreign.length > 0) {
      try {
        const update = foreign.length === 1 ? foreign[0]! : Y.mergeUpdates(foreign);
        Y.applyUpdate(this.doc, update, 'remote');
        this.sizeBound += update.byteLength;
        this.deps.metrics.remoteUpdates.inc(foreign.length);
        this.changed(update, false);
      } catch (err) {
        this.deps.logger.error({ doc: this.docId, err: errorMessage(err) }, 'remote document update did not apply; skipped');
      }
    }
  }

  // ---- Socket.IO notes ---------------------------------------------------------

  private async note(msg: NoteMessage): Promise<NoteReply> {
    if (msg.type === 'note-leave') {
      this.notes.leave(msg.member.sid);
      this.releaseIfAlone();
      return { ok: true };
    }
    if (this.state === 'failed') await this.retryLoad();
    if (this.state === 'missing') return { ok: false, code: ErrorCode.NOT_FOUND, message: `no document ${this.docId}` };
    if (this.state === 'failed' || !this.doc) return { ok: false, code: ErrorCode.DOC_LOAD_FAILED, message: 'document unavailable' };
    this.settle();
    const reply = this.notes.handle(msg, { doc: this.doc, record: this.record!, metrics: this.deps.metrics });
    if (reply.ok && msg.type === 'note-update' && msg.update && !P.isNoOpUpdate(msg.update)) this.changed(msg.update, true, null, undefined, true);
    this.armKeepalive();
    return reply;
  }

  /** The record is gone: sockets are told NOT_FOUND, nothing more is saved or appended. */
  private async deleted(): Promise<void> {
    this.state = 'missing';
    this.record = null;
    this.batch.discard();
    this.outbox?.discard();
    await this.persistence?.release();
    for (const conn of [...this.conns]) {
      conn.close(P.DocCloseCodes.NOT_FOUND);
      this.close(conn);
    }
  }

  private snapshot(): DocSnapshotReply | null {
    if (this.state === 'failed') throw new SwitchyardError(ErrorCode.DOC_LOAD_FAILED, `document ${this.docId} failed to load; try again shortly`);
    if (!this.record || !this.doc) return null;
    this.settle();
    const content = this.notes.content;
    return { record: this.record, text: rootTexts(this.doc), ...(content === undefined ? {} : { content }) };
  }
}
