import { createHash } from 'node:crypto';

export type BatchFn = (texts: string[], apiKey: string | null) => Promise<Float32Array[]>;

export interface EmbedBatcherOptions {
  /** Texts per batch (EMBEDDING_BATCH_SIZE). */
  readonly batchSize: number;
  /** How long a partial batch waits for more texts. @default 10 // ms */
  readonly maxWaitMs: number;
  /** Batches in flight at once (≈ pool threads, so every thread stays busy). */
  readonly maxInFlight: number;
}

interface Item {
  readonly text: string;
  readonly signal: AbortSignal | undefined;
  resolve(v: Float32Array): void;
  reject(err: unknown): void;
}

interface Lane {
  readonly key: string;
  readonly apiKey: string | null;
  items: Item[];
  timer: NodeJS.Timeout | null;
}

/**
 * Groups texts from concurrent jobs into shared batches: a batch leaves when it
 * is full or after `maxWaitMs`. Texts needing different API keys never share a
 * batch (lanes are keyed by a hash of the key, never the key itself). A job that
 * aborts stops waiting at once; its queued texts are dropped before their batch leaves.
 */
export class EmbedBatcher {
  private readonly lanes = new Map<string, Lane>();
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  /** Batches sent (metrics / tests: shared batching is observable). */
  batches = 0;

  constructor(private readonly fn: BatchFn, private readonly options: EmbedBatcherOptions) {}

  embed(texts: readonly string[], apiKey: string | null, signal?: AbortSignal): Promise<Float32Array[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = apiKey === null ? '-' : createHash('sha256').update(apiKey).digest('hex');
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { key, apiKey, items: [], timer: null };
      this.lanes.set(key, lane);
    }
    const all = Promise.all(
      texts.map((text) => new Promise<Float32Array>((resolve, reject) => lane.items.push({ text, signal, resolve, reject }))),
    );
    while (lane.items.length >= this.options.batchSize) this.send(lane, lane.items.splice(0, this.options.batchSize));
    if (lane.items.length > 0 && !lane.timer) {
      lane.timer = setTimeout(() => {
        lane.timer = null;
        if (lane.items.length > 0) this.send(lane, lane.items.splice(0));
      }, this.options.maxWaitMs);
    }
    if (!signal) return all;
    all.catch(() => {}); // the race below reports the abort instead
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      all.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private send(lane: Lane, batch: Item[]): void {
    void this.run(lane, batch);
  }

  private async run(lane: Lane, batch: Item[]): Promise<void> {
    if (this.inFlight >= this.options.maxInFlight) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight += 1;
    const live = batch.filter((item) => !item.signal?.aborted);
    try {
      if (live.length === 0) return;
      this.batches += 1;
      const vectors = await this.fn(
        live.map((i) => i.text),
        lane.apiKey,
      );
      live.forEach((item, i) => item.resolve(vectors[i]!));
    } catch (err) {
      for (const item of live) item.reject(err);
    } finally {
      this.inFlight -= 1;
      this.waiting.shift()?.();
      if (lane.items.length === 0 && !lane.timer && this.lanes.get(lane.key) === lane) this.lanes.delete(lane.key);
    }
  }

  close(): void {
    for (const lane of this.lanes.values()) if (lane.timer) clearTimeout(lane.timer);
  }
}
