/**
 * Deadlines for many items on one interval: items are bucketed by tick (`tickMs`), and
 * each tick expires the buckets that came due — O(expired) per tick, one timer for
 * every socket instead of one per socket. Used to close sockets whose token passed
 * its `exp` (issue 13 #12: open sockets outlived their token). Precision is one tick.
 */
export class ExpiryWheel<T> {
  private readonly slots = new Map<number, Set<T>>();
  private readonly slotOf = new Map<T, number>();
  /** The last tick whose bucket was expired. */
  private cursor: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly onExpire: (item: T) => void,
    private readonly now: () => number,
    private readonly tickMs = 1_000,
  ) {
    this.cursor = Math.floor(now() / tickMs);
    this.timer = setInterval(() => this.tick(), tickMs).unref();
  }

  /** (Re)schedules `item` to expire at `atMs` (epoch ms); null: never (forgets it). */
  track(item: T, atMs: number | null): void {
    this.untrack(item);
    if (atMs === null) return;
    // Already due (or due in the current tick): the next tick expires it.
    const slot = Math.max(Math.floor(atMs / this.tickMs), this.cursor + 1);
    let bucket = this.slots.get(slot);
    if (!bucket) this.slots.set(slot, (bucket = new Set()));
    bucket.add(item);
    this.slotOf.set(item, slot);
  }

  untrack(item: T): void {
    const slot = this.slotOf.get(item);
    if (slot === undefined) return;
    this.slotOf.delete(item);
    const bucket = this.slots.get(slot)!;
    bucket.delete(item);
    if (bucket.size === 0) this.slots.delete(slot);
  }

  /** Items waiting to expire. */
  size(): number {
    return this.slotOf.size;
  }

  /** Expires every bucket due by now (the interval calls it; tests may too). */
  tick(): void {
    const due = Math.floor(this.now() / this.tickMs);
    // Jumps over long empty stretches (a stalled event loop, a test clock) when few slots exist.
    const sparse = due - this.cursor > this.slots.size;
    const slots = sparse ? [...this.slots.keys()].filter((s) => s <= due).sort((a, b) => a - b) : null;
    const walk = slots ?? range(this.cursor + 1, due);
    this.cursor = Math.max(this.cursor, due);
    for (const slot of walk) {
      const bucket = this.slots.get(slot);
      if (!bucket) continue;
      this.slots.delete(slot);
      for (const item of bucket) {
        this.slotOf.delete(item);
        this.onExpire(item);
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.slots.clear();
    this.slotOf.clear();
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
