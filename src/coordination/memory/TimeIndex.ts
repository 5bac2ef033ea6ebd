/**
 * A min-heap of (key, time score) with lazy deletion: a re-scored or deleted key leaves a
 * stale entry that is skipped when it surfaces, because callers supply the times and an
 * insertion-ordered map would misorder a key re-marked with an earlier time. O(log n) per
 * `push`, O(k log n) to take k due keys. The owner keeps each key's current score (`scoreOf`)
 * in a map it needs anyway, so the heap adds no map entry per key; scores sit in a plain
 * array of doubles (unboxed) beside the keys instead of a `{score, key}` object per entry
 * (~70 B less per idle session, heap snapshot of bench:ws' idle phase).
 */
export class ScoreHeap<K> {
  private keys: K[] = [];
  private scores: number[] = [];

  constructor(
    /** The key's current score; undefined once it was deleted. */
    private readonly scoreOf: (key: K) => number | undefined,
    /** Every live (key, score), for a rebuild. */
    private readonly live: () => Iterable<[K, number]>,
    /** Live keys, so a rebuild happens before stale entries outnumber them. */
    private readonly liveCount: () => number,
  ) {}

  /** Records `score` as `key`'s current score (the owner has stored it already). */
  push(key: K, score: number): void {
    this.insert(key, score);
    // Every re-score leaves a stale entry; rebuild before they outnumber live ones.
    if (this.keys.length > 2 * this.liveCount() + 64) this.rebuild();
  }

  /**
   * Removes and returns up to `limit` keys whose current score satisfies `due`, lowest
   * score first; `forget` drops each from the owner's map at once, so a key pushed twice
   * with one score is taken once.
   */
  take(limit: number, due: (score: number) => boolean, forget: (key: K) => void): K[] {
    const out: K[] = [];
    while (out.length < limit && this.keys.length > 0) {
      const key = this.keys[0]!;
      const score = this.scores[0]!;
      if (this.scoreOf(key) === score) {
        if (!due(score)) break;
        forget(key);
        out.push(key);
      }
      this.pop();
    }
    return out;
  }

  private rebuild(): void {
    this.keys = [];
    this.scores = [];
    for (const [key, score] of this.live()) this.insert(key, score);
  }

  private insert(key: K, score: number): void {
    const { keys, scores } = this;
    let i = keys.length;
    keys.push(key);
    scores.push(score);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (scores[parent]! <= score) break;
      keys[i] = keys[parent]!;
      scores[i] = scores[parent]!;
      i = parent;
    }
    keys[i] = key;
    scores[i] = score;
  }

  private pop(): void {
    const { keys, scores } = this;
    const lastKey = keys.pop()!;
    const last = scores.pop()!;
    const n = keys.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const min = r < n && scores[r]! < scores[l]! ? r : l;
      if (scores[min]! >= last) break;
      keys[i] = keys[min]!;
      scores[i] = scores[min]!;
      i = min;
    }
    keys[i] = lastKey;
    scores[i] = last;
  }
}

/** Keys ordered by a time score, so a sweep visits only the expired keys (a map plus a `ScoreHeap`). */
export class TimeIndex<K> {
  private readonly scores = new Map<K, number>();
  private readonly heap = new ScoreHeap<K>(
    (key) => this.scores.get(key),
    () => this.scores.entries(),
    () => this.scores.size,
  );

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
    this.heap.push(key, score);
  }

  delete(key: K): boolean {
    return this.scores.delete(key);
  }

  /** Removes and returns up to `limit` keys whose score satisfies `due`, lowest score first. */
  take(limit: number, due: (score: number) => boolean): K[] {
    return this.heap.take(limit, due, (key) => this.scores.delete(key));
  }
}
