import { performance } from 'node:perf_hooks';
import { AskTimeoutError } from '../errors.js';

/**
 * One pending request/reply. Travels through the mailbox in place of the bare message,
 * so a tell costs no envelope allocation.
 */
export class Ask {
  settled = false;
  timedOut = false;
  readonly promise: Promise<unknown>;
  private resolveFn!: (value: unknown) => void;
  private rejectFn!: (err: unknown) => void;
  deadline = 0; // performance.now() ms
  queue: DeadlineQueue | undefined;

  constructor(
    readonly message: unknown,
    readonly target: string,
    readonly timeoutMs: number,
    private readonly timeouts: AskTimeouts,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  reply(value: unknown): void {
    if (this.settled) {
      if (this.timedOut) this.timeouts.lateReply(this, value);
      return;
    }
    this.settled = true;
    this.resolveFn(value);
    this.timeouts.settled(this);
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(err);
    this.timeouts.settled(this);
  }

  expire(): void {
    this.settled = true;
    this.timedOut = true;
    this.rejectFn(new AskTimeoutError(this.target, this.timeoutMs));
  }
}

/** Asks sharing one timeout value, in deadline order (they were created in time order). */
class DeadlineQueue {
  /** Entries before `head` are settled and cleared (undefined). */
  items: Array<Ask | undefined> = [];
  head = 0;
  timer: NodeJS.Timeout | undefined;
  timerRefed = false;

  get empty(): boolean {
    return this.head === this.items.length;
  }

  prune(): void {
    // Cleared as the head passes: a settled ask holds its message and reply (a task's
    // spec and record), and up to ~1,000 of them waiting for the slice below survived
    // young-generation GCs — bench:tasks' scavenges took ~25 % longer with them.
    while (this.head < this.items.length && this.items[this.head]!.settled) this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Ask timeouts without a setTimeout/clearTimeout pair per ask (which would dominate a
 * round trip): one timer per distinct timeout value, armed for the oldest pending ask.
 * Settled asks are removed lazily from the front.
 */
export class AskTimeouts {
  private readonly queues = new Map<number, DeadlineQueue>();

  constructor(private readonly onLateReply: (ask: Ask, value: unknown) => void) {}

  create(message: unknown, target: string, timeoutMs: number): Ask {
    const ask = new Ask(message, target, timeoutMs, this);
    ask.deadline = performance.now() + timeoutMs;
    let queue = this.queues.get(timeoutMs);
    if (queue === undefined) this.queues.set(timeoutMs, (queue = new DeadlineQueue()));
    ask.queue = queue;
    queue.items.push(ask);
    if (queue.timer === undefined) this.arm(queue, timeoutMs);
    else if (!queue.timerRefed) {
      queue.timer.ref();
      queue.timerRefed = true;
    }
    return ask;
  }

  settled(ask: Ask): void {
    const queue = ask.queue!;
    queue.prune();
    // An idle timer must not keep the process alive; it is re-referenced by the next ask.
    if (queue.empty && queue.timer !== undefined && queue.timerRefed) {
      queue.timer.unref();
      queue.timerRefed = false;
    }
  }

  lateReply(ask: Ask, value: unknown): void {
    this.onLateReply(ask, value);
  }

  private arm(queue: DeadlineQueue, delayMs: number): void {
    queue.timer = setTimeout(() => this.fire(queue), Math.max(1, Math.ceil(delayMs)));
    queue.timerRefed = true;
  }

  private fire(queue: DeadlineQueue): void {
    queue.timer = undefined;
    const now = performance.now() + 1; // timers may fire up to ~1 ms before the float deadline
    for (;;) {
      queue.prune();
      if (queue.empty) return;
      const ask = queue.items[queue.head]!;
      if (ask.deadline > now) return this.arm(queue, ask.deadline - now + 1);
      queue.head++;
      ask.expire();
    }
  }
}
