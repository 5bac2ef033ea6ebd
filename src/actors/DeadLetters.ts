import { Topic } from './Topic.js';
import type { DeadLetter, DeadLetterReason } from './types.js';

/** @default 100 letters kept for inspection (dashboards, tests); older ones are only counted. */
export const DEFAULT_DEAD_LETTER_BUFFER = 100;

/**
 * Messages that were never handled. Observable (`subscribe`), with a bounded recent buffer
 * and a count per reason, so a flood of drops cannot grow memory.
 */
export class DeadLetters {
  private readonly topic: Topic<DeadLetter>;
  private readonly ring: DeadLetter[] = [];
  private next = 0;
  private readonly counts = new Map<DeadLetterReason, number>();
  private total = 0;

  constructor(
    private readonly now: () => number,
    onListenerError: (err: unknown) => void,
    private readonly bufferSize = DEFAULT_DEAD_LETTER_BUFFER,
  ) {
    this.topic = new Topic(onListenerError);
  }

  subscribe(listener: (letter: DeadLetter) => void): () => void {
    return this.topic.subscribe(listener);
  }

  publish(ref: string, message: unknown, reason: DeadLetterReason): void {
    const letter: DeadLetter = { ref, message, reason, at: this.now() };
    this.total++;
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (this.bufferSize > 0) {
      if (this.ring.length < this.bufferSize) this.ring.push(letter);
      else this.ring[this.next] = letter;
      this.next = (this.next + 1) % this.bufferSize;
    }
    this.topic.emit(letter);
  }

  /** The most recent letters, oldest first. */
  recent(): DeadLetter[] {
    if (this.ring.length < this.bufferSize) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  /** Letters ever published, per reason. */
  countsByReason(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  get count(): number {
    return this.total;
  }
}
