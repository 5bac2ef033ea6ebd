/**
 * The cross-instance update log of documents (a coordination port): one append-only
 * stream per document (a Redis stream in cluster mode). Each instance appends its
 * local updates and reads everyone's from its last id, so a blip or a late start
 * catches up by id instead of losing pub/sub messages. Entries are trimmed once a
 * save covers them. Both adapters pass test/doclog.contract.ts.
 */
export interface LogEntry {
  /** Stream id; ids compare with `compareIds`. */
  readonly id: string;
  /** Instance that appended it (own echoes are dropped by this). */
  readonly origin: string;
  readonly update: Uint8Array;
}

export interface LogSubscriber {
  /** Entries after the subscriber's last id, in order (own entries included; the reader drops them). */
  entries(entries: readonly LogEntry[]): void;
  /**
   * The reader lost its connection and may have missed entries that were trimmed
   * meanwhile: reload the stored state (idempotent) before trusting the stream again.
   */
  gap(): void;
  /**
   * The instance this subscriber reads for. With `caughtUp`, a log may skip handing it
   * back its own entries: when nothing else is pending for it, an own append calls
   * `caughtUp(id)` at once (synchronously, inside append) instead of a later delivery.
   * The in-process log does; a single process then does no delivery work for its own edits.
   */
  readonly origin?: string;
  caughtUp?(id: string): void;
}

export interface DocumentLog {
  readonly kind: 'memory' | 'redis';
  append(docId: string, origin: string, update: Uint8Array): Promise<string>;
  /** Every entry still in the log, oldest first, and the id to subscribe after. */
  backlog(docId: string): Promise<{ entries: LogEntry[]; lastId: string }>;
  /** Delivers entries after `afterId` until unsubscribed, each entry once, in order. */
  subscribe(docId: string, afterId: string, subscriber: LogSubscriber): () => void;
  /** Drops entries with ids below `minId` (they are covered by a save). */
  trim(docId: string, minId: string): Promise<void>;
  /** Records that the stored state covers every entry up to `id`. */
  markSaved(docId: string, id: string): Promise<void>;
  /** The last id recorded by markSaved, or null. */
  savedUpTo(docId: string): Promise<string | null>;
  /** Forgets the document's entries and saved marker (the document was deleted). */
  drop(docId: string): Promise<void>;
  close(): Promise<void>;
}

/** The id before every entry. */
export const LOG_START = '0-0';

/** Orders stream ids `<ms>-<seq>`. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : (as ?? 0) - (bs ?? 0);
}
