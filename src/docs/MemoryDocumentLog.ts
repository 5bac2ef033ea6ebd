import { compareIds, LOG_START, type DocumentLog, type LogEntry, type LogSubscriber } from './DocumentLog.js';

interface Stream {
  entries: LogEntry[];
  readonly subscribers: Set<{ lastId: string; subscriber: LogSubscriber }>;
  savedUpTo: string | null;
}

/**
 * The embedded equivalent of the Redis streams: one process, ids `<ms>-<seq>` in
 * append order, delivery on a later microtask (never inside the appender's call).
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
    queueMicrotask(() => this.deliver(stream));
    return id;
  }

  async backlog(docId: string): Promise<{ entries: LogEntry[]; lastId: string }> {
    const entries = [...(this.streams.get(docId)?.entries ?? [])];
    return { entries, lastId: entries.at(-1)?.id ?? LOG_START };
  }

  subscribe(docId: string, afterId: string, subscriber: LogSubscriber): () => void {
    const stream = this.stream(docId);
    const sub = { lastId: afterId, subscriber };
    stream.subscribers.add(sub);
    queueMicrotask(() => this.deliver(stream));
    return () => {
      stream.subscribers.delete(sub);
      this.dropIfUnused(docId, stream);
    };
  }

  async trim(docId: string, minId: string): Promise<void> {
    const stream = this.streams.get(docId);
    if (stream) stream.entries = stream.entries.filter((e) => compareIds(e.id, minId) >= 0);
  }

  async markSaved(docId: string, id: string): Promise<void> {
    this.stream(docId).savedUpTo = id;
  }

  async savedUpTo(docId: string): Promise<string | null> {
    return this.streams.get(docId)?.savedUpTo ?? null;
  }

  async close(): Promise<void> {
    this.streams.clear();
  }

  /** Streams held, for leak checks. */
  size(): number {
    return this.streams.size;
  }

  private deliver(stream: Stream): void {
    for (const sub of stream.subscribers) {
      const fresh = stream.entries.filter((e) => compareIds(e.id, sub.lastId) > 0);
      if (fresh.length === 0) continue;
      sub.lastId = fresh.at(-1)!.id;
      sub.subscriber.entries(fresh);
    }
  }

  private stream(docId: string): Stream {
    let s = this.streams.get(docId);
    if (!s) {
      s = { entries: [], subscribers: new Set(), savedUpTo: null };
      this.streams.set(docId, s);
    }
    return s;
  }

  /** An unsubscribed stream with nothing left to replay is forgotten, so 1,000 docs do not pile up. */
  private dropIfUnused(docId: string, stream: Stream): void {
    if (stream.subscribers.size === 0 && stream.entries.length === 0) this.streams.delete(docId);
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
