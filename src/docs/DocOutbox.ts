import * as Y from 'yjs';
import { errorMessage } from '../errors.js';
import type { DocConnection } from './DocConnection.js';
import type { DocActorDeps } from './DocumentActor.js';
import { encodeUpdate } from './protocol.js';
import { RelayWindow } from './RelayWindow.js';

/** Retry delay for appends that failed (Redis blip); updates wait merged, never dropped. */
const APPEND_RETRY_MS = 500;
/** How long the in-process log's appends wait to be made together. */
const LOCAL_FLUSH_MS = 100;

/**
 * What leaves a document: each update to the local sockets (through the relay window:
 * at once into a quiet document, together with the others of its window into a busy
 * one), as one uWS topic publish of bytes encoded at most once (a client's own frame
 * is forwarded as it came, from its socket, so uWS skips the sender); local updates appended to the
 * cross-instance log once per event-loop turn (in order, retried on failure).
 * Awareness has its own way out (DocAwareness).
 *
 * Merging the turn's updates with Y.mergeUpdates before sending (as before) cost 17 % of a
 * memory-mode server's CPU under bench:docs (it re-reads every struct) and added a turn of
 * latency; a busy window's updates are joined by a byte copy instead (RelayWindow).
 */
export class DocOutbox {
  private unsent: Uint8Array[] = [];
  private flushQueued = false;
  private appending: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastId: string | null = null;
  private inFlight = 0;
  private readonly relay: RelayWindow;

  constructor(
    private readonly docId: string,
    private readonly deps: DocActorDeps,
    private readonly topic: string,
    private readonly conns: () => ReadonlySet<DocConnection>,
  ) {
    this.relay = new RelayWindow(deps.relayClock, (message, from) => {
      if (from && !from.closed && from.admitted) from.publishOthers(this.topic, message);
      else this.broadcast(message);
    });
  }

  /**
   * A document update for the local sockets: `frame` is the update message as a client
   * sent it (forwarded unchanged, to everyone but `from`); without one it is encoded once.
   */
  send(update: Uint8Array, from: DocConnection | null, frame?: Uint8Array): void {
    this.relay.send(update, frame ?? encodeUpdate(update), from);
  }

  /** Publishes the updates the relay window holds (the document unloads). */
  flushRelay(): void {
    this.relay.flush();
  }

  /** A local update (made on this instance: its clients, note members or storage) for the log. */
  local(update: Uint8Array): void {
    this.unsent.push(update);
    if (!this.flushQueued) {
      this.flushQueued = true;
      // On Redis the log carries updates to the other instances: appended on the next turn. The
      // in-process log has no other reader, only the next load: a batch per LOCAL_FLUSH_MS costs
      // one append chain instead of one per event-loop turn (3 % of a memory-mode server's CPU).
      if (this.deps.log.kind === 'memory') setTimeout(this.flushLater, LOCAL_FLUSH_MS).unref();
      else setImmediate(this.flushLater);
    }
  }

  private readonly flushLater = (): void => this.flushNow();

  /** Log id of this instance's last appended update (null: none); undefined while updates are still on their way. */
  get lastOwnId(): string | null | undefined {
    return this.unsent.length > 0 || this.inFlight > 0 ? undefined : this.lastId;
  }

  /** Sends a pre-encoded message to every local socket of the document. */
  broadcast(message: Uint8Array): void {
    for (const conn of this.conns()) {
      if (!conn.closed && conn.admitted) return conn.publishAll(this.topic, message);
    }
  }

  flushNow(): void {
    this.flushQueued = false;
    this.append();
  }

  /** The document was deleted: nothing more is broadcast or appended. */
  discard(): void {
    this.relay.discard();
    this.unsent = [];
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Resolves when every local update reached the log (or the outbox stopped retrying). */
  async drain(): Promise<void> {
    this.append();
    await this.appending;
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private append(): void {
    if (this.unsent.length === 0) return;
    // One entry per turn on Redis (one XADD); the in-process log takes the updates as they are, unmerged.
    const batch = this.unsent.length === 1 || this.deps.log.kind === 'memory' ? this.unsent : [Y.mergeUpdates(this.unsent)];
    this.unsent = [];
    this.inFlight += 1;
    this.appending = this.appending.then(async () => {
      try {
        // Issued together, not one await each (a microtask hop per update): both logs keep the call order.
        const ids = await Promise.all(batch.map((update) => this.deps.log.append(this.docId, this.deps.instanceId, update)));
        this.lastId = ids.at(-1)!;
      } catch (err) {
        this.deps.logger.warn({ doc: this.docId, err: errorMessage(err) }, 'document log append failed; retrying');
        this.unsent.unshift(...batch); // some may be in the log already: applying an update twice changes nothing
        if (!this.stopped && !this.retryTimer) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.append();
          }, APPEND_RETRY_MS);
        }
      } finally {
        this.inFlight -= 1;
      }
    });
  }
}
