import { compareIds, LOG_START, type DocumentLog, type LogEntry, type LogSubscriber } from '../DocumentLog.js';

interface Cursor {
  /** Absolute position (count of entries ever appended before it) of the next entry to deliver. */
  next: number;
  readonly subscriber: LogSubscriber;
  /** Entries after its start were trimmed before it subscribed: report a gap first. */
  gap: boolean;
}

interface Stream {
  /** Entries still held; `entries[0]` is absolute position `base`. */
  entries: LogEntry[];
  base: number;
  /** Id of the last entry trimmed (LOG_START: none). */
  trimmedTo: string;
  readonly cursors: Set<Cursor>;
  savedUpTo: string | null;
  /** A delivery is already queued for this stream (appends in one turn share it). */
  queued: boolean;
}

/**
 * The embedded equivalent of the Redis streams: one process, ids `<ms>-<seq>` in
 * append order, delivery on a later microtask (never inside the appender's call).
 *
 * Each subscriber holds a cursor (an absolute position), so a delivery hands it
 * exactly the entries appended since, in O(new entries): filtering the whole log
 * by id on every append cost 18.5% of the server's CPU under a Yjs load (issue 14),
 * growing with the log until a save trimmed it. Ids are increasing, so trimming and
 * subscribing from an id are binary searches. A cursor left behind by a trim (or a
 * subscription from before the last trimmed id) is told about the gap, as on Redis.
 */
export class MemoryDocumentLog implements DocumentLog {
  readonly kind = 'memory' as const;
  private readonly streams = new Map<string, Stream>();
  private lastMs = 0;
  private seq = 0;

  async append(docId: string, origin: string, update: Uint8Array): Promise<string> {
    const id = this.nextId();
    const stream = this.stream(docId);
    stream.entries.push({ id, origin, update });
    if (!stream.queued && this.ownOnly(stream, origin)) {
      // Every reader is the appender and had read everything: nothing to deliver (a single process's own edits).
      const end = stream.base + stream.entries.length;
      for (const cursor of stream.cursors) {
        cursor.next = end;
        cursor.subscriber.caughtUp!(id);
      }
      return id;
    }
    this.schedule(stream);
    return id;
  }

  async backlog(docId: string): Promise<{ entries: LogEntry[]; lastId: string }> {
    const entries = [...(this.streams.get(docId)?.entries ?? [])];
    return { entries, lastId: entries.at(-1)?.id ?? LOG_START };
  }

  subscribe(docId: string, afterId: string, subscriber: LogSubscriber): () => void {
    const stream = this.stream(docId);
    const gap = compareIds(afterId, stream.trimmedTo) < 0;
    const cursor: Cursor = { next: stream.base + firstAfter(stream.entries, afterId), subscriber, gap };
    stream.cursors.add(cursor);
    this.schedule(stream);
    return () => {
      stream.cursors.delete(cursor);
      this.dropIfUnused(docId, stream);
    };
  }

  async trim(docId: string, minId: string): Promise<void> {
    const stream = this.streams.get(docId);
    if (!stream) return;
    const cut = firstAtOrAfter(stream.entries, minId);
    if (cut === 0) return;
    stream.trimmedTo = stream.entries[cut - 1]!.id;
    stream.entries = stream.entries.slice(cut);
    stream.base += cut;
  }

  async markSaved(docId: string, id: string): Promise<void> {
    this.stream(docId).savedUpTo = id;
  }

  async savedUpTo(docId: string): Promise<string | null> {
    return this.streams.get(docId)?.savedUpTo ?? null;
  }

  async drop(docId: string): Promise<void> {
    const stream = this.streams.get(docId);
    if (!stream) return;
    stream.base += stream.entries.length;
    stream.entries = [];
    stream.savedUpTo = null;
    stream.trimmedTo = LOG_START;
    for (const cursor of stream.cursors) cursor.next = Math.max(cursor.next, stream.base); // deleted, not missed

    this.dropIfUnused(docId, stream);
  }

  async close(): Promise<void> {
    this.streams.clear();
  }

  /** Streams held, for leak checks. */
  size(): number {
    return this.streams.size;
  }

  /** True when every cursor reads for `origin`, takes caughtUp, and is at the end but for the entry just pushed. */
  private ownOnly(stream: Stream, origin: string): boolean {
    const last = stream.base + stream.entries.length - 1;
    for (const cursor of stream.cursors) {
      if (cursor.subscriber.origin !== origin || !cursor.subscriber.caughtUp || cursor.next !== last || cursor.gap) return false;
    }
    return true;
  }

  private schedule(stream: Stream): void {
    if (stream.queued) return;
    stream.queued = true;
    queueMicrotask(() => {
      stream.queued = false;
      this.deliver(stream);
    });
  }

  private deliver(stream: Stream): void {
    const end = stream.base + stream.entries.length;
    for (const cursor of stream.cursors) {
      // A cursor behind a trim resumes at the oldest entry held, after reloading what it missed.
      if (cursor.next < stream.base || cursor.gap) {
        cursor.gap = false;
        cursor.subscriber.gap();
      }
      const from = Math.max(cursor.next, stream.base);
      if (from >= end) continue;
      cursor.next = end;
      cursor.subscriber.entries(stream.entries.slice(from - stream.base));
    }
  }

  private stream(docId: string): Stream {
    let s = this.streams.get(docId);
    if (!s) {
      s = { entries: [], base: 0, trimmedTo: LOG_START, cursors: new Set(), savedUpTo: null, queued: false };
      this.streams.set(docId, s);
    }
    return s;
  }

  /** An unsubscribed stream with nothing left to replay is forgotten, so 1,000 docs do not pile up. */
  private dropIfUnused(docId: string, stream: Stream): void {
    if (stream.cursors.size === 0 && stream.entries.length === 0) this.streams.delete(docId);
  }

  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    return `${this.lastMs}-${this.seq}`;
  }
}

/** Index of the first entry with an id above `id` (ids are increasing). */
function firstAfter(entries: readonly LogEntry[], id: string): number {
  return search(entries, (e) => compareIds(e.id, id) > 0);
}

/** Index of the first entry with an id at or above `id`. */
function firstAtOrAfter(entries: readonly LogEntry[], id: string): number {
  return search(entries, (e) => compareIds(e.id, id) >= 0);
}

/** Lowest index where `above` holds, for a predicate false then true along the array. */
function search(entries: readonly LogEntry[], above: (e: LogEntry) => boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (above(entries[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
