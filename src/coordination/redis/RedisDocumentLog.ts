import type { Redis } from 'ioredis';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { compareIds, LOG_START, type DocumentLog, type LogEntry, type LogSubscriber } from '../DocumentLog.js';
import { reconnectDelay } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';

export interface RedisDocumentLogOptions {
  /** The backend's command connection (XADD, XRANGE, XTRIM, the saved marker). */
  readonly redis: Redis;
  /** A connection of its own for the blocking XREAD; its command timeout must exceed `blockMs`. */
  readonly reader: Redis;
  /** Streams are `RedisKeys.docLog(id)`, markers `RedisKeys.docSaved(id)`. */
  readonly keys: RedisKeys;
  readonly logger: Logger;
  /** The command connection's Lua commands (`docAppend`). */
  readonly scripts: Scripts;
  /** Longest XREAD block; a new subscription interrupts it with CLIENT UNBLOCK. @default 5_000 // ms */
  readonly blockMs?: number;
  /** Entries per XREAD reply. @default 512 */
  readonly batch?: number;
}

/** Default longest XREAD block. */
export const DOC_LOG_BLOCK_MS = 5_000; // ms

interface Sub {
  lastId: string;
  readonly subscriber: LogSubscriber;
}

/** An entry as stored: `prev` is the id of the entry before it when it was appended. */
interface StoredEntry extends LogEntry {
  readonly prev: string;
}

type XReadReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;

/**
 * Document streams on Redis: XADD per local update on the backend's command
 * connection; ONE blocking reader connection per instance XREADs every loaded
 * document's stream from its last id (not one connection per document). After any
 * read error every subscriber is told about a possible gap, and reading resumes
 * from the same ids with capped backoff.
 *
 * Gaps are detected, not guessed: each entry records its predecessor's id (Lua
 * `docAppend`), so an entry whose predecessor is past the reader's cursor means
 * entries were trimmed before this instance read them — after ioredis silently
 * re-sent a blocked XREAD across a reconnect, or a subscription that started late.
 * The subscriber then reloads the stored state, which covers every trimmed entry
 * (a save always precedes its trim).
 */
export class RedisDocumentLog implements DocumentLog {
  readonly kind = 'redis' as const;
  private readonly keys: RedisKeys;
  private readonly redis: Redis;
  private readonly reader: Redis;
  /** Stream key → subscription, so a reply's key finds its document without parsing the key. */
  private readonly subs = new Map<string, Sub>();
  private readerId: number | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  /** Bumped by each subscribe; the loop records which version its current XREAD covers. */
  private version = 0;
  private readVersion = 0;
  private loop: Promise<void> = Promise.resolve();

  private constructor(private readonly options: RedisDocumentLogOptions) {
    this.keys = options.keys;
    this.redis = options.redis;
    this.reader = options.reader;
  }

  /** Starts the reader loop on the (ready) reader connection. */
  static async start(options: RedisDocumentLogOptions): Promise<RedisDocumentLog> {
    const log = new RedisDocumentLog(options);
    await log.refreshReaderId();
    options.reader.on('ready', () => void log.refreshReaderId());
    log.loop = log.run(options.blockMs ?? DOC_LOG_BLOCK_MS);
    return log;
  }

  async append(docId: string, origin: string, update: Uint8Array): Promise<string> {
    const bytes = Buffer.from(update.buffer, update.byteOffset, update.byteLength);
    return (await this.options.scripts.run('docAppend', [this.keys.docLog(docId)], [origin, bytes])) as string;
  }

  async backlog(docId: string): Promise<{ entries: LogEntry[]; lastId: string }> {
    const rows = await this.redis.xrangeBuffer(this.keys.docLog(docId), '-', '+');
    const entries = rows.map(([id, fields]) => publicEntry(toEntry(id, fields)));
    return { entries, lastId: entries.at(-1)?.id ?? LOG_START };
  }

  subscribe(docId: string, afterId: string, subscriber: LogSubscriber): () => void {
    const key = this.keys.docLog(docId);
    const sub: Sub = { lastId: afterId, subscriber };
    this.subs.set(key, sub);
    this.version += 1;
    this.interrupt();
    return () => {
      if (this.subs.get(key) === sub) this.subs.delete(key);
    };
  }

  async trim(docId: string, minId: string): Promise<void> {
    await this.redis.xtrim(this.keys.docLog(docId), 'MINID', minId);
  }

  async markSaved(docId: string, id: string): Promise<void> {
    await this.redis.set(this.keys.docSaved(docId), id);
  }

  async savedUpTo(docId: string): Promise<string | null> {
    return this.redis.get(this.keys.docSaved(docId));
  }

  async drop(docId: string): Promise<void> {
    await this.redis.del(this.keys.docLog(docId), this.keys.docSaved(docId));
  }

  /** Stops reading; the connections belong to the backend, which closes them after this. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    this.subs.clear();
    // Dropping the reader's socket ends a blocked XREAD at once.
    this.reader.disconnect(false);
    await this.loop;
  }

  private async run(blockMs: number): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (this.subs.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      this.readVersion = this.version;
      // The reply is matched to these subs: one replaced meanwhile reads again from its own cursor.
      const reading = new Map(this.subs);
      const streams = [...reading.keys()];
      const ids = [...reading.values()].map((sub) => sub.lastId);
      try {
        const reply = (await this.reader.xreadBuffer(
          'COUNT',
          this.options.batch ?? 512,
          'BLOCK',
          blockMs,
          'STREAMS',
          ...streams,
          ...ids,
        )) as XReadReply;
        if (failures > 0) this.options.logger.info({ failures }, 'document log reader reconnected');
        failures = 0;
        if (reply) this.dispatch(reply, reading);
      } catch (err) {
        if (this.closed) break;
        failures += 1;
        if (failures === 1) this.options.logger.warn({ err: errorMessage(err) }, 'document log read failed; reading again from the last ids');
        for (const sub of this.subs.values()) safely(() => sub.subscriber.gap(), this.options.logger);
        await new Promise((r) => setTimeout(r, reconnectDelay(failures)));
      }
    }
  }

  private dispatch(reply: NonNullable<XReadReply>, reading: ReadonlyMap<string, Sub>): void {
    for (const [key, rows] of reply) {
      const name = key.toString();
      const sub = reading.get(name);
      if (!sub || this.subs.get(name) !== sub || rows.length === 0) continue;
      let gap = false;
      let cursor = sub.lastId;
      const entries: LogEntry[] = [];
      for (const [id, fields] of rows) {
        const entry = toEntry(id, fields);
        if (compareIds(entry.prev, cursor) > 0) gap = true;
        cursor = entry.id;
        entries.push(publicEntry(entry));
      }
      sub.lastId = cursor;
      if (gap) {
        this.options.logger.info({ stream: name }, 'document log entries were trimmed before this instance read them; reloading the stored state');
        safely(() => sub.subscriber.gap(), this.options.logger);
      }
      safely(() => sub.subscriber.entries(entries), this.options.logger);
    }
  }

  /** Ends a blocked XREAD so a new subscription is read at once instead of after blockMs. */
  private interrupt(): void {
    if (this.wake) {
      this.wake();
      return;
    }
    if (this.readerId === null || this.closed) return;
    this.redis.client('UNBLOCK', this.readerId).catch(() => {});
    // The UNBLOCK may overtake an XREAD still on its way to Redis; repeat until a read covers this version.
    const wanted = this.version;
    setTimeout(() => {
      if (!this.closed && this.readVersion < wanted) this.interrupt();
    }, 50).unref();
  }

  private async refreshReaderId(): Promise<void> {
    try {
      this.readerId = (await this.reader.client('ID')) as number;
    } catch {
      this.readerId = null;
    }
  }
}

function toEntry(id: Buffer, fields: Buffer[]): StoredEntry {
  let origin = '';
  let update = new Uint8Array(0);
  let prev = LOG_START;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString();
    const value = fields[i + 1]!;
    if (name === 'o') origin = value.toString();
    else if (name === 'u') update = new Uint8Array(value);
    else if (name === 'p') prev = value.toString();
  }
  return { id: id.toString(), origin, update, prev };
}

function publicEntry(e: StoredEntry): LogEntry {
  return { id: e.id, origin: e.origin, update: e.update };
}

function safely(fn: () => void, log: Logger): void {
  try {
    fn();
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'document log subscriber threw');
  }
}
