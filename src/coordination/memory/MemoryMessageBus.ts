import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { BusHandler, MessageBus, Unsubscribe } from '../ports.js';

/**
 * In-process pub/sub. Delivery is asynchronous (a microtask per handler) so code
 * written against it does not come to rely on a handler running inside publish(),
 * which Redis pub/sub never does.
 */
export class MemoryMessageBus implements MessageBus {
  private readonly topics = new Map<string, Set<BusHandler>>();

  constructor(private readonly log: Logger) {}

  async publish(topic: string, payload: string): Promise<void> {
    const handlers = this.topics.get(topic);
    if (!handlers) return;
    for (const handler of [...handlers]) {
      queueMicrotask(() => {
        // A subscriber that left before the microtask ran gets nothing, as after UNSUBSCRIBE.
        if (!this.topics.get(topic)?.has(handler)) return;
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
    let handlers = this.topics.get(topic);
    if (!handlers) this.topics.set(topic, (handlers = new Set()));
    handlers.add(handler);
    return async () => {
      const set = this.topics.get(topic);
      if (!set?.delete(handler)) return;
      if (set.size === 0) this.topics.delete(topic);
    };
  }

  topicCount(): number {
    return this.topics.size;
  }

  /** The in-process bus is never disconnected, so listeners are never called. */
  onConnectionChange(_listener: (connected: boolean) => void): () => void {
    return () => {};
  }
}
