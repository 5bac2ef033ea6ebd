import { ErrorCode, errorMessage } from '../errors.js';
import { keySafe } from '../coordination/keySafe.js';
import { Lease } from '../coordination/Lease.js';
import type { LeaseLock } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';
import type { DocumentStore } from '../storage/ports.js';
import { compareIds, type DocumentLog } from '../coordination/DocumentLog.js';
import type { DocMetrics } from './DocMetrics.js';

export interface PersistenceOptions {
  /** Save this long after the last change. @default 500 // ms */
  readonly debounceMs: number;
  /** …but no later than this after the first unsaved change. @default 5_000 // ms */
  readonly maxWaitMs: number;
  /** TTL of the per-document writer lease; renewed on every save. @default 15_000 // ms */
  readonly leaseTtlMs: number;
}

/** What a save needs from the document, taken synchronously in one actor turn. */
export interface DocSnapshot {
  /** The whole document as one update (Yjs binary, never rebuilt from text). */
  readonly state: Uint8Array;
  /** Every log entry up to this id is in `state`. */
  readonly appliedId: string;
}

export interface PersistenceHooks {
  snapshot(): DocSnapshot;
  /** Applies the stored state (idempotent) — done when this instance becomes the writer. */
  mergeStored(state: Uint8Array): void;
  /** Id of this instance's last appended update; null when none; undefined while one is still being appended. */
  lastOwnId(): string | null | undefined;
  /** Arms the next 'persist' turn after `delayMs`; returns its cancel. */
  schedule(delayMs: number): () => void;
}

export interface PersistenceDeps {
  readonly docId: string;
  readonly owner: string;
  readonly storage: DocumentStore;
  readonly log: DocumentLog;
  readonly lock: LeaseLock;
  readonly metrics: DocMetrics;
  readonly logger: Logger;
  readonly options: PersistenceOptions;
}

/** The writer lease of a document; the id is escaped so `v1:fence`'s lock is never `v1`'s fence. */
export function persistLockName(docId: string): string {
  return `doc-persist:${keySafe(docId)}`;
}

/**
 * Debounced durable saves of one document with one writer across the cluster. The
 * writer holds the lease `doc-persist:<escaped id>` (a coordination Lease, renewed on
 * every persist turn); on taking it, it first merges the stored state, so a new
 * writer never overwrites what the previous one saved. Every save checks the lease
 * right before writing: one that starts after the lease lapsed (a slow save queued
 * behind another) is refused and writes nothing. A save records which log entries it
 * covers, then trims them from the log. An instance that is not the writer stays
 * dirty until the writer's save covers its own last update. Disabled (never saves)
 * until the document loaded successfully.
 */
export class DocPersistence {
  private dirty = false;
  private firstDirtyAt = 0;
  private lastChangeAt = 0;
  /** When the armed 'persist' turn fires (0: none armed). */
  private dueAt = 0;
  private cancel: (() => void) | null = null;
  private readonly lease: Lease;
  private saving: Promise<void> = Promise.resolve();
  private enabled = false;

  constructor(private readonly deps: PersistenceDeps, private readonly hooks: PersistenceHooks) {
    this.lease = new Lease(deps.lock, { name: persistLockName(deps.docId), owner: deps.owner, ttlMs: deps.options.leaseTtlMs });
  }

  /** Only a successfully loaded document may ever be saved. */
  enable(): void {
    this.enabled = true;
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /**
   * Called for every change, so it only moves the due time: the armed timer, once it
   * fires, re-arms for what is left of the debounce (re-arming a timer per update was
   * visible in the profile of a busy document).
   */
  markDirty(now = Date.now()): void {
    if (!this.enabled) return;
    if (!this.dirty) {
      this.dirty = true;
      this.firstDirtyAt = now;
    }
    this.lastChangeAt = now;
    const due = this.due();
    if (this.dueAt === 0 || due < this.dueAt) this.arm(Math.max(0, due - now));
  }

  /** The debounce after the last change, capped by the longest wait after the first. */
  private due(): number {
    return Math.min(this.lastChangeAt + this.deps.options.debounceMs, this.firstDirtyAt + this.deps.options.maxWaitMs);
  }

  /**
   * The 'persist' turn: becomes (or stays) the writer, snapshots, and starts the
   * save without holding the actor's turn for the storage round trip.
   */
  /** The armed timer fired: persists, unless changes since moved the due time on. */
  async timer(now = Date.now()): Promise<void> {
    this.cancel = null;
    this.dueAt = 0;
    if (this.enabled && this.dirty && this.due() > now) return this.arm(this.due() - now);
    return this.persist();
  }

  async persist(): Promise<void> {
    this.cancel?.();
    this.cancel = null;
    this.dueAt = 0;
    if (!this.enabled || !this.dirty) return;
    if (!(await this.ensureWriter())) {
      if (await this.coveredByWriter()) {
        this.dirty = false;
        this.deps.metrics.saves.inc({ result: 'skipped' });
      } else {
        this.arm(this.deps.options.maxWaitMs);
      }
      return;
    }
    const snap = this.hooks.snapshot();
    this.dirty = false;
    this.saving = this.saving.then(() => this.save(snap));
  }

  /** Waits for saves in flight and saves what is left; used when the document unloads or the instance stops. */
  async flush(): Promise<void> {
    this.cancel?.();
    this.cancel = null;
    this.dueAt = 0;
    await this.saving;
    if (!this.enabled || !this.dirty) return;
    if (await this.ensureWriter()) {
      const snap = this.hooks.snapshot();
      this.dirty = false;
      await this.save(snap);
    } else if (!(await this.coveredByWriter())) {
      // The writer instance has our updates in the log (they are never trimmed before a save covers them).
      this.deps.logger.info({ doc: this.deps.docId }, 'unsaved changes left to the current writer via the log');
    }
  }

  /** Gives the writer lease up (after flush). */
  async release(): Promise<void> {
    this.enabled = false;
    this.cancel?.();
    this.dueAt = 0;
    await this.lease.release();
  }

  private arm(delayMs: number): void {
    this.cancel?.();
    this.dueAt = Date.now() + delayMs;
    this.cancel = this.hooks.schedule(delayMs);
  }

  private async ensureWriter(): Promise<boolean> {
    try {
      if (this.lease.held && (await this.lease.renew())) return true;
      const held = await this.lease.tryAcquire();
      if (!held) return false;
      // A new writer starts from what the previous one saved, and its fence locks out any earlier writer's late save.
      const stored = await this.deps.storage.claimState(this.deps.docId, held.fence);
      if (stored) this.hooks.mergeStored(stored);
      return true;
    } catch (err) {
      this.deps.logger.warn({ doc: this.deps.docId, err: errorMessage(err) }, 'document writer lease unavailable; will retry');
      this.arm(this.deps.options.debounceMs);
      return false;
    }
  }

  private async coveredByWriter(): Promise<boolean> {
    const own = this.hooks.lastOwnId();
    if (own === undefined) return false;
    if (own === null) return true; // only others' updates: their own instance (or the writer) saves them
    const saved = await this.deps.log.savedUpTo(this.deps.docId).catch(() => null);
    return saved !== null && compareIds(saved, own) >= 0;
  }

  private async save(snap: DocSnapshot): Promise<void> {
    const { storage, log, docId, metrics, logger } = this.deps;
    const held = this.lease.held;
    if (!held) {
      // Another instance may be the writer now: it merged the stored state and owns the next save.
      metrics.saves.inc({ result: 'refused' });
      logger.warn({ doc: docId }, 'document save refused: the writer lease was lost; will retry as a candidate writer');
      if (this.enabled) this.markDirty();
      return;
    }
    try {
      await storage.saveState(docId, snap.state, held.fence);
      metrics.saves.inc({ result: 'ok' });
    } catch (err) {
      metrics.saves.inc({ result: 'failed' });
      if ((err as { code?: string }).code === ErrorCode.LEASE_LOST) await this.lease.release().catch(() => {}); // superseded: re-acquire (and merge) before saving again
      logger.warn({ doc: docId, err: errorMessage(err) }, 'document save failed; will retry');
      if (this.enabled) this.markDirty();
      return;
    }
    try {
      await log.markSaved(docId, snap.appliedId);
      // Compaction of the update log: entries the save covers are merged into the stored state.
      await log.trim(docId, snap.appliedId);
    } catch (err) {
      logger.warn({ doc: docId, err: errorMessage(err) }, 'document log not trimmed after save');
    }
  }
}
