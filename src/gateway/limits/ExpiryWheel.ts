/**
 * Where the wheel keeps an item: the tick of its bucket (-1: not tracked) and its index
 * in that bucket. Stored on the item itself so an untrack needs no side map: at tens of
 * thousands of idle sockets a Map entry plus a Set entry per socket cost ~80 B each.
 */
export interface WheelItem {
  wheelSlot: number;
  wheelIndex: number;
}

/**
 * Deadlines for many items on one interval: items are bucketed by tick (`tickMs`), and
 * each tick expires the buckets that came due — O(expired) per tick, one timer for
 * every socket instead of one per socket. Used to close sockets whose token passed
 * its `exp` (issue 13 #12: open sockets outlived their token). Precision is one tick.
 * A bucket is a plain array; an untrack moves the bucket's last item into the hole.
 */
export class ExpiryWheel<T extends WheelItem> {
  private readonly slots = new Map<number, T[]>();
  private tracked = 0;
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
    if (!bucket) this.slots.set(slot, (bucket = []));
    item.wheelSlot = slot;
    item.wheelIndex = bucket.length;
    bucket.push(item);
    this.tracked += 1;
  }

  untrack(item: T): void {
    if (item.wheelSlot < 0) return;
    const bucket = this.slots.get(item.wheelSlot)!;
    const last = bucket.pop()!;
    if (last !== item) {
      bucket[item.wheelIndex] = last;
      last.wheelIndex = item.wheelIndex;
    }
    if (bucket.length === 0) this.slots.delete(item.wheelSlot);
    item.wheelSlot = -1;
    this.tracked -= 1;
  }

  /** Items waiting to expire. */
  size(): number {
    return this.tracked;
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
      this.tracked -= bucket.length;
      for (const item of bucket) item.wheelSlot = -1;
      for (const item of bucket) this.onExpire(item);
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const bucket of this.slots.values()) for (const item of bucket) item.wheelSlot = -1;
    this.slots.clear();
    this.tracked = 0;
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
