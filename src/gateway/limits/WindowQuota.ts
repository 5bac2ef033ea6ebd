/** What one key spent in the window: when, and how many bytes. */
interface Spend {
  readonly at: number;
  readonly bytes: number;
}

export interface WindowQuotaOptions {
  /** Events (e.g. uploads) one key may start per window. */
  readonly maxCount: number;
  /** Bytes one key may send per window. */
  readonly maxBytes: number;
  readonly windowMs: number;
}

/**
 * A sliding-window quota per key (user id): at most `maxCount` events and `maxBytes`
 * bytes within any `windowMs`. A log of at most `maxCount` entries per key, so memory
 * is bounded by the quota; keys with nothing in the window are pruned. Per instance.
 */
export class WindowQuota {
  private readonly log = new Map<string, Spend[]>();

  constructor(readonly options: WindowQuotaOptions) {}

  /**
   * Records an event of `bytes` for `key` when it fits; otherwise records nothing and
   * returns how long (ms) until it would fit (for `Retry-After`). Null = accepted.
   */
  take(key: string, bytes: number, now: number): number | null {
    const { maxCount, maxBytes, windowMs } = this.options;
    const spends = this.live(key, now);
    if (bytes > maxBytes) return windowMs; // can never fit: wait a whole window and learn the limit again
    let used = spends.reduce((sum, s) => sum + s.bytes, 0);
    // Oldest first: find how many entries must age out before this one fits.
    let i = 0;
    while (i < spends.length && (spends.length - i >= maxCount || used + bytes > maxBytes)) {
      used -= spends[i]!.bytes;
      i += 1;
    }
    if (i > 0) return Math.max(1, spends[i - 1]!.at + windowMs - now);
    spends.push({ at: now, bytes });
    this.log.set(key, spends);
    return null;
  }

  /** Adds bytes to the key's latest event (a body without Content-Length, counted once read). */
  addBytes(key: string, bytes: number): void {
    const spends = this.log.get(key);
    const last = spends?.[spends.length - 1];
    if (last) spends![spends!.length - 1] = { at: last.at, bytes: last.bytes + bytes };
  }

  /** Forgets keys with nothing left in the window. */
  prune(now: number): void {
    for (const key of [...this.log.keys()]) if (this.live(key, now).length === 0) this.log.delete(key);
  }

  size(): number {
    return this.log.size;
  }

  private live(key: string, now: number): Spend[] {
    const spends = this.log.get(key) ?? [];
    const from = now - this.options.windowMs;
    let drop = 0;
    while (drop < spends.length && spends[drop]!.at <= from) drop += 1;
    if (drop > 0) spends.splice(0, drop);
    if (spends.length === 0) this.log.delete(key);
    return spends;
  }
}
