import { performance } from 'node:perf_hooks';
import { MailboxFullError } from '../errors.js';
import type { OverflowPolicy } from './types.js';

/**
 * Handles items one turn at a time. Methods, not closures: the loop allocates nothing per
 * turn, and a synchronous turn costs no microtask.
 */
export interface TurnHandler<T> {
  /** Runs the turn: returns its result, or a thenable when it is asynchronous. May throw. */
  begin(item: T): unknown;
  /** The turn produced `value`; `ms` is its duration when this turn was timed (sampled), else -1. Must not throw. */
  end(item: T, value: unknown, ms: number): void;
  /** The turn threw or rejected; `ms` as for `end`. Must not throw. */
  fail(item: T, err: unknown, ms: number): void;
}

/**
 * One turn in this many is timed, starting with the first. A clock read costs ~40 ns, as
 * much as the rest of a turn's overhead; timing every turn halves tell throughput.
 */
export const TURN_TIMING_SAMPLE = 8;

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise || (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function');
}

export interface MailboxHooks<T> {
  /** An item evicted by 'drop-oldest'. */
  dropped(item: T): void;
  /** The drain loop ran dry (queue empty, not suspended). */
  idle(): void;
  /** A handler broke its contract and threw; logged by the owner, the loop carries on. */
  error(err: unknown): void;
}

const INITIAL_SLOTS = 16; // grows by doubling: 100k idle actors must not each hold 1000 slots

/**
 * A bounded FIFO drained by one async loop, so exactly one item is in flight at a time.
 * `suspend()` parks the loop after the current item (restart backoff, activation),
 * keeping the queue; `drained` is the running loop's promise.
 */
export class Mailbox<T> {
  private slots: (T | undefined)[] = new Array(INITIAL_SLOTS);
  private head = 0;
  private count = 0;
  private loop: Promise<void> | undefined;
  private suspended: boolean;
  private untilTimed = 1; // turns until the next timed one

  constructor(
    private readonly actor: string,
    readonly capacity: number,
    readonly overflow: OverflowPolicy,
    private readonly handler: TurnHandler<T>,
    private readonly hooks: MailboxHooks<T>,
    { suspended = false }: { suspended?: boolean } = {},
  ) {
    this.suspended = suspended;
  }

  get depth(): number {
    return this.count;
  }

  /** No item queued and none in flight. */
  get isIdle(): boolean {
    return this.count === 0 && this.loop === undefined;
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  /** Resolves when the current drain loop exits (queue empty or suspended). */
  get drained(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** Enqueues; throws MailboxFullError synchronously under 'reject' so the sender sees back-pressure. */
  push(item: T): void {
    if (this.count === this.capacity) {
      if (this.overflow === 'reject') throw new MailboxFullError(this.actor, this.capacity);
      this.hooks.dropped(this.shift()!);
    }
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item;
    this.count++;
    if (this.loop === undefined && !this.suspended) this.loop = this.run();
  }

  suspend(): void {
    this.suspended = true;
  }

  resume(): void {
    this.suspended = false;
    // A loop parked by suspend() may not have exited yet; it re-checks and carries on.
    if (this.loop === undefined && this.count > 0) this.loop = this.run();
  }

  /** Removes and returns everything queued (for dead-lettering). */
  takeAll(): T[] {
    const out: T[] = [];
    while (this.count > 0) out.push(this.shift()!);
    return out;
  }

  private shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined; // let the message be collected
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
    return item;
  }

  private grow(): void {
    const next: (T | undefined)[] = new Array(this.slots.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) & (this.slots.length - 1)];
    this.slots = next;
    this.head = 0;
  }

  private async run(): Promise<void> {
    // Start on a microtask: a sender's tell never runs the receiver's turn inside its own stack.
    await undefined;
    const handler = this.handler;
    try {
      while (this.count > 0 && !this.suspended) {
        const item = this.shift()!;
        const timed = --this.untilTimed === 0;
        let started = 0;
        if (timed) {
          this.untilTimed = TURN_TIMING_SAMPLE;
          started = performance.now();
        }
        let value: unknown;
        try {
          value = handler.begin(item);
          if (isThenable(value)) value = await value;
        } catch (err) {
          handler.fail(item, err, timed ? performance.now() - started : -1);
          continue;
        }
        handler.end(item, value, timed ? performance.now() - started : -1);
      }
    } catch (err) {
      this.hooks.error(err);
    }
    this.loop = undefined;
    if (this.count === 0 && !this.suspended) this.hooks.idle();
    else if (this.count > 0 && !this.suspended) this.loop = this.run(); // only after a handler contract breach
  }
}
