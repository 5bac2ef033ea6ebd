import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { BusHandler, MessageBus, Unsubscribe } from '../ports.js';

/**
 * In-process pub/sub. Delivery is asynchronous (a microtask per handler) so code
 * written against it does not come to rely on a handler running inside publish(),
 * which Redis pub/sub never does.
 */
export class MemoryMessageBus implements MessageBus {
  /**
   * topic → its handler, or its handlers once there are several. Most topics have one
   * (a room's subscription per instance): a Set each cost ~170 B per topic, and the
   * gateway subscribes a topic per connected user.
   */
  private readonly topics = new Map<string, BusHandler | BusHandler[]>();

  constructor(private readonly log: Logger) {}

  async publish(topic: string, payload: string): Promise<void> {
    const entry = this.topics.get(topic);
    if (entry === undefined) return;
    for (const handler of typeof entry === 'function' ? [entry] : [...entry]) {
      queueMicrotask(() => {
        // A subscriber that left before the microtask ran gets nothing, as after UNSUBSCRIBE.
        if (!this.has(topic, handler)) return;
        try {
          handler(payload, topic);
        } catch (err) {
          this.log.warn({ topic, err: errorMessage(err) }, 'bus handler threw');
        }
      });
    }
  }

  /** In process there is no per-message cost to save: each frame is its own payload. */
  publishFrame(topic: string, header: string, frame: string): Promise<void> {
    return this.publish(topic, header + frame);
  }

  async subscribe(topic: string, handler: BusHandler): Promise<Unsubscribe> {
    const entry = this.topics.get(topic);
    if (entry === undefined) this.topics.set(topic, handler);
    else if (typeof entry === 'function') {
      if (entry !== handler) this.topics.set(topic, [entry, handler]);
    } else if (!entry.includes(handler)) entry.push(handler);
    return () => this.unsubscribe(topic, handler);
  }

  async unsubscribe(topic: string, handler: BusHandler): Promise<void> {
    const now = this.topics.get(topic);
    if (now === handler) this.topics.delete(topic);
    else if (Array.isArray(now)) {
      const at = now.indexOf(handler);
      if (at < 0) return;
      now.splice(at, 1);
      if (now.length === 1) this.topics.set(topic, now[0]!);
    }
  }

  private has(topic: string, handler: BusHandler): boolean {
    const entry = this.topics.get(topic);
    return entry === handler || (Array.isArray(entry) && entry.includes(handler));
  }

  topicCount(): number {
    return this.topics.size;
  }

  /** The in-process bus is never disconnected, so listeners are never called. */
  onConnectionChange(_listener: (connected: boolean) => void): () => void {
    return () => {};
  }
}
