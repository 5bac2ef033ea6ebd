import type { Redis } from 'ioredis';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { BusHandler, MessageBus, Unsubscribe } from '../ports.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';
import { call } from './connection.js';
import { TurnBatch, deferred, type Deferred } from './TurnBatch.js';

export interface BusBackoff {
  /** First wait before retrying a failed resubscribe. @default 1_000 // ms */
  readonly minMs: number;
  /** The wait doubles up to this. @default 30_000 // ms */
  readonly maxMs: number;
}

export const DEFAULT_BUS_BACKOFF: BusBackoff = Object.freeze({ minMs: 1_000, maxMs: 30_000 });

/** One PUBLISH of a flush; frames merged into it share its promise. */
interface Outgoing {
  readonly topic: string;
  payload: string;
  /** A frame stream's header (publishFrame), whose later frames may be appended; null for a plain publish. */
  readonly header: string | null;
  readonly sent: Deferred<void>;
}

interface Outbox {
  readonly items: Outgoing[];
  /** Per topic, the frame item that the topic's next frame with the same header joins. */
  readonly open: Map<string, Outgoing>;
}

/**
 * A merged payload stops growing here and the next frame starts a new PUBLISH: a subscriber
 * reads each message whole, and Redis holds it in every subscriber's output buffer.
 */
const MAX_MERGED_CHARS = 64 * 1024;

interface Topic {
  readonly handlers: Set<BusHandler>;
  /** Whether the server has this channel subscribed on the current connection. */
  subscribed: boolean;
  /** Serialises SUBSCRIBE/UNSUBSCRIBE of this topic, so quick sub/unsub pairs cannot reorder. */
  op: Promise<void>;
}

/**
 * Redis pub/sub over one dedicated subscriber connection. A topic is SUBSCRIBEd
 * when it gets its first local handler and UNSUBSCRIBEd when the last one leaves.
 * ioredis' autoResubscribe is off: a reconnect comes back with no subscriptions and
 * this class resubscribes every topic itself, retrying with backoff until it works
 * (Redis may answer the connect but still be loading), and reports the outage.
 */
export class RedisMessageBus implements MessageBus {
  private readonly topics = new Map<string, Topic>();
  private readonly outbox: TurnBatch<Outbox>;
  private readonly listeners = new Set<(connected: boolean) => void>();
  private connected: boolean;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs: number;
  private closed = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    /** The publisher's Lua commands (busPublish). */
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
    private readonly backoff: BusBackoff = DEFAULT_BUS_BACKOFF,
  ) {
    this.retryDelayMs = backoff.minMs;
    this.outbox = new TurnBatch<Outbox>(
      () => ({ items: [], open: new Map() }),
      (outbox) => this.send(outbox),
    );
    this.connected = subscriber.status === 'ready';
    subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
    subscriber.on('ready', () => void this.resubscribeAll());
    subscriber.on('close', () => this.connectionLost());
  }

  /** Publishes of one event-loop turn go out as one command, in order. */
  publish(topic: string, payload: string): Promise<void> {
    const outbox = this.outbox.current();
    // A later frame of this topic must not be merged ahead of this payload.
    outbox.open.delete(topic);
    return this.queue(outbox, topic, payload, null);
  }

  /**
   * Frames of one topic and header published in one turn become one PUBLISH (header once,
   * then each frame): a room's relay burst costs one command, one reply and one message
   * per subscriber instead of one per frame.
   */
  publishFrame(topic: string, header: string, frame: string): Promise<void> {
    const outbox = this.outbox.current();
    const open = outbox.open.get(topic);
    if (open !== undefined && open.header === header && open.payload.length + frame.length <= MAX_MERGED_CHARS) {
      open.payload += frame;
      return open.sent.promise;
    }
    return this.queue(outbox, topic, header + frame, header);
  }

  private queue(outbox: Outbox, topic: string, payload: string, header: string | null): Promise<void> {
    const item: Outgoing = { topic, payload, header, sent: deferred() };
    outbox.items.push(item);
    if (header !== null) outbox.open.set(topic, item);
    return item.sent.promise;
  }

  /** One command for the turn (a lone message is a plain PUBLISH); its reply settles every caller. */
  private send(outbox: Outbox): void {
    const { items } = outbox;
    call(this.publisher, 'bus.publish', () => {
      if (items.length === 1) return this.publisher.publish(this.keys.channel(items[0]!.topic), items[0]!.payload);
      const args: string[] = [];
      for (const item of items) args.push(this.keys.channel(item.topic), item.payload);
      return this.scripts.run('busPublish', [], args);
    }).then(
      () => {
        for (const item of items) item.sent.resolve();
      },
      (err: unknown) => {
        for (const item of items) item.sent.reject(err);
      },
    );
  }

  /**
   * Never rejects for an outage: the handler stays registered and the topic is
   * subscribed as soon as the connection is back (messages in between are lost —
   * at-most-once, like Redis pub/sub itself).
   */
  async subscribe(topic: string, handler: BusHandler): Promise<Unsubscribe> {
    let t = this.topics.get(topic);
    if (!t) this.topics.set(topic, (t = { handlers: new Set(), subscribed: false, op: Promise.resolve() }));
    t.handlers.add(handler);
    await this.sync(topic, t);
    return () => this.unsubscribe(topic, handler);
  }

  async unsubscribe(topic: string, handler: BusHandler): Promise<void> {
    const current = this.topics.get(topic);
    if (!current?.handlers.delete(handler)) return;
    await this.sync(topic, current);
  }

  topicCount(): number {
    let n = 0;
    for (const t of this.topics.values()) if (t.handlers.size > 0) n += 1;
    return n;
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Stops retry timers and notifications; the owner quits the connections. */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.listeners.clear();
  }

  /** Queues a step that makes the server's subscription of `topic` match its local handlers. */
  private sync(topic: string, t: Topic): Promise<void> {
    t.op = t.op.then(async () => {
      const want = t.handlers.size > 0;
      // While disconnected there is nothing to do: resubscribeAll() runs on 'ready'.
      if (this.closed || want === t.subscribed || this.subscriber.status !== 'ready') {
        if (!want && this.topics.get(topic) === t) this.topics.delete(topic);
        return;
      }
      const channel = this.keys.channel(topic);
      try {
        if (want) await this.subscriber.subscribe(channel);
        else await this.subscriber.unsubscribe(channel);
        t.subscribed = want;
      } catch (err) {
        this.log.warn({ topic, err: errorMessage(err) }, want ? 'bus subscribe failed; retrying' : 'bus unsubscribe failed');
        if (want) this.scheduleRetry();
      }
      if (t.handlers.size === 0 && !t.subscribed && this.topics.get(topic) === t) this.topics.delete(topic);
    });
    return t.op;
  }

  private async resubscribeAll(): Promise<void> {
    if (this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const wanted = [...this.topics].filter(([, t]) => t.handlers.size > 0);
    try {
      if (wanted.length > 0) await this.subscriber.subscribe(...wanted.map(([topic]) => this.keys.channel(topic)));
    } catch (err) {
      this.log.warn({ topics: wanted.length, err: errorMessage(err), retryInMs: this.retryDelayMs }, 'bus resubscribe failed');
      this.scheduleRetry();
      return;
    }
    for (const [, t] of wanted) t.subscribed = true;
    this.retryDelayMs = this.backoff.minMs;
    // A handler may have left while SUBSCRIBE was in flight.
    for (const [topic, t] of wanted) if (t.handlers.size === 0) void this.sync(topic, t);
    this.setConnected(true);
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.backoff.maxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      // Not ready yet: the 'ready' event will resubscribe; retry again meanwhile in case it already fired.
      if (this.subscriber.status === 'ready') void this.resubscribeAll();
      else this.scheduleRetry();
    }, delay);
  }

  private connectionLost(): void {
    // The server drops a connection's subscriptions with it.
    for (const t of this.topics.values()) t.subscribed = false;
    this.setConnected(false);
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const listener of [...this.listeners]) {
      try {
        listener(connected);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'bus connection listener threw');
      }
    }
  }

  private deliver(channel: string, message: string): void {
    const topic = this.keys.topicOf(channel);
    const t = topic === null ? undefined : this.topics.get(topic);
    if (!t || topic === null) return;
    for (const handler of [...t.handlers]) {
      try {
        handler(message, topic);
      } catch (err) {
        this.log.warn({ topic, err: errorMessage(err) }, 'bus handler threw');
      }
    }
  }
}
