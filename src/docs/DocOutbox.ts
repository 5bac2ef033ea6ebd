import * as Y from 'yjs';
import { errorMessage } from '../errors.js';
import { awarenessTopic, type DocConnection } from './DocConnection.js';
import type { DocActorDeps } from './DocumentActor.js';
import { encodeUpdate } from './protocol.js';

/** Retry delay for appends that failed (Redis blip); updates wait merged, never dropped. */
const APPEND_RETRY_MS = 500;

/**
 * What leaves a document: updates to the local sockets, coalesced per event-loop
 * turn into one merged update encoded once and published on the uWS topic; local
 * updates appended to the cross-instance log (in order, retried on failure); and
 * awareness relayed on the bus.
 */
export class DocOutbox {
  private pending: Uint8Array[] = [];
  private unsent: Uint8Array[] = [];
  private flushQueued = false;
  private appending: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastId: string | null = null;
  private inFlight = 0;

  constructor(
    private readonly docId: string,
    private readonly deps: DocActorDeps,
    private readonly topic: string,
    private readonly conns: () => ReadonlySet<DocConnection>,
  ) {}

  /** A document update; `local` ones (from this instance's clients or its storage) also go to the log. */
  update(update: Uint8Array, local: boolean): void {
    this.pending.push(update);
    if (local) this.unsent.push(update);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flushNow());
    }
  }

  /** Log id of this instance's last appended update (null: none); undefined while updates are still on their way. */
  get lastOwnId(): string | null | undefined {
    return this.unsent.length > 0 || this.pending.length > 0 || this.inFlight > 0 ? undefined : this.lastId;
  }

  /** Sends a pre-encoded message to every local socket of the document. */
  broadcast(message: Uint8Array): void {
    for (const conn of this.conns()) {
      if (!conn.closed && conn.admitted) return conn.publishAll(this.topic, message);
    }
  }

  relayAwareness(update: Uint8Array): void {
    const payload = JSON.stringify({ o: this.deps.instanceId, u: Buffer.from(update).toString('base64') });
    this.deps.bus.publish(awarenessTopic(this.docId), payload).catch(() => {}); // ephemeral; renewed every 15 s
  }

  flushNow(): void {
    this.flushQueued = false;
    if (this.pending.length > 0) {
      const merged = this.pending.length === 1 ? this.pending[0]! : Y.mergeUpdates(this.pending);
      this.pending = [];
      this.broadcast(encodeUpdate(merged));
    }
    this.append();
  }

  /** The document was deleted: nothing more is broadcast or appended. */
  discard(): void {
    this.pending = [];
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
    const batch = this.unsent.length === 1 ? this.unsent[0]! : Y.mergeUpdates(this.unsent);
    this.unsent = [];
    this.inFlight += 1;
    this.appending = this.appending.then(async () => {
      try {
        this.lastId = await this.deps.log.append(this.docId, this.deps.instanceId, batch);
      } catch (err) {
        this.deps.logger.warn({ doc: this.docId, err: errorMessage(err) }, 'document log append failed; retrying');
        this.unsent.unshift(batch);
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
