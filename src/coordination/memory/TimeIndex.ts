/**
 * Keys ordered by a time score, so a sweep visits only the expired keys: O(log n)
 * per `set`, O(k log n) to take k due keys. A binary min-heap with lazy deletion —
 * a re-scored or deleted key leaves a stale heap entry that is skipped when it
 * surfaces — because callers supply the times and an insertion-ordered map would
 * misorder a key re-marked with an earlier time.
 */
export class TimeIndex<K> {
  private readonly scores = new Map<K, number>();
  private heap: { score: number; key: K }[] = [];

  get size(): number {
    return this.scores.size;
  }

  score(key: K): number | undefined {
    return this.scores.get(key);
  }

  has(key: K): boolean {
    return this.scores.has(key);
  }

  entries(): IterableIterator<[K, number]> {
    return this.scores.entries();
  }

  set(key: K, score: number): void {
    this.scores.set(key, score);
    this.push({ score, key });
    // Every touch leaves a stale entry; rebuild before they outnumber live ones.
    if (this.heap.length > 2 * this.scores.size + 64) this.rebuild();
  }

  delete(key: K): boolean {
    return this.scores.delete(key);
  }

  /** Removes and returns up to `limit` keys whose score satisfies `due`, lowest score first. */
  take(limit: number, due: (score: number) => boolean): K[] {
    const out: K[] = [];
    while (out.length < limit && this.heap.length > 0) {
      const top = this.heap[0];
      if (this.scores.get(top.key) !== top.score) {
        this.pop();
        continue;
      }
      if (!due(top.score)) break;
      this.pop();
      this.scores.delete(top.key);
      out.push(top.key);
    }
    return out;
  }

  private rebuild(): void {
    this.heap = [];
    for (const [key, score] of this.scores) this.push({ score, key });
  }

  private push(item: { score: number; key: K }): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].score <= h[i].score) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && h[l].score < h[min].score) min = l;
      if (r < h.length && h[r].score < h[min].score) min = r;
      if (min === i) return;
      [h[min], h[i]] = [h[i], h[min]];
      i = min;
    }
  }
}
