import type { Redis } from 'ioredis';
import { call } from './connection.js';

type Pipeline = ReturnType<Redis['pipeline']>;

interface Pending<T> {
  readonly item: T;
  readonly resolve: (reply: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Commands asked for during one event-loop turn (or a short window), sent as one ioredis
 * pipeline: one write and one read instead of one per command. On loopback a write costs
 * the sender the receiver's TCP work too: ~20 % of a Redis-mode server's CPU went into
 * the touch pipelines' writes at 5,000 heartbeats/s with one pipeline per turn. Hot paths issue one
 * command per frame (a relay's PUBLISH, a heartbeat's touch); on a loaded box the
 * per-command syscalls on the shared command connection were what queued behind each
 * other (issue 14). Each caller still gets its own reply or error, in order.
 */
export class TurnBatch<T> {
  private pending: Pending<T>[] | null = null;

  constructor(
    private readonly client: Redis,
    /** Named in BackendUnavailableError messages, e.g. `bus.publish`. */
    private readonly op: string,
    /** Adds the command for one item to the pipeline. */
    private readonly queue: (pipeline: Pipeline, item: T) => void,
    /** 0: flush in the next loop turn; else collect for this long first. @default 0 // ms */
    private readonly windowMs = 0,
  ) {}

  /** Resolves with the command's reply; rejects with its error or the pipeline's. */
  add(item: T): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.pending === null) {
        this.pending = [];
        if (this.windowMs > 0) setTimeout(() => void this.flush(), this.windowMs);
        else setImmediate(() => void this.flush());
      }
      this.pending.push({ item, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending ?? [];
    this.pending = null;
    try {
      const replies = await call(this.client, this.op, () => {
        const pipeline = this.client.pipeline();
        for (const p of batch) this.queue(pipeline, p.item);
        return pipeline.exec();
      });
      batch.forEach((p, i) => {
        const [err, reply] = replies?.[i] ?? [new Error(`no reply for ${this.op} in its pipeline`), null];
        if (err) p.reject(err);
        else p.resolve(reply);
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
