/**
 * Work asked for during one event-loop turn (or a short window), collected into one batch
 * that is sent as one Redis write and read instead of one per command. On loopback a write
 * costs the sender the receiver's TCP work too: ~20 % of a Redis-mode server's CPU went into
 * the touch pipelines' writes at 5,000 heartbeats/s with one pipeline per turn. Hot paths
 * ask for one command per frame (a relay's PUBLISH, a heartbeat's touch); on a loaded box
 * the per-command syscalls on the shared command connection were what queued behind each
 * other (issue 14). What a batch holds, how its items are merged and how each caller gets
 * its answer is the owner's: this class only opens a batch per turn and sends it.
 */
export class TurnBatch<B> {
  private batch: B | null = null;

  constructor(
    /** A new, empty batch. */
    private readonly open: () => B,
    /** Sends a batch; settles every caller's promise itself and never throws. */
    private readonly send: (batch: B) => void,
    /** 0: send in the next loop turn; else collect for this long first. @default 0 // ms */
    private readonly windowMs = 0,
  ) {}

  /** The batch collecting this turn's work; the first call of a turn opens it and schedules its send. */
  current(): B {
    if (this.batch === null) {
      this.batch = this.open();
      if (this.windowMs > 0) setTimeout(this.flush, this.windowMs);
      else setImmediate(this.flush);
    }
    return this.batch;
  }

  private readonly flush = (): void => {
    const batch = this.batch;
    this.batch = null;
    if (batch !== null) this.send(batch);
  };
}

/** A promise with its settle functions, for answers that come with a batch's reply. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
