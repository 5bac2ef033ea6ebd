/**
 * "Race a promise against a deadline", written once. Every bounded wait in switchyard
 * (shutdown steps, readiness probes, pool aborts, queue closes) goes through these two,
 * so each clears its timer (no stray timers keep a process alive) and none leaves an
 * unhandled rejection behind when the loser settles later.
 */

/** Thrown by {@link withDeadline} when the deadline passes first. */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number, what = 'operation') {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * Resolves or rejects as `work` does, or rejects with `onTimeout()` (default a
 * {@link DeadlineExceeded}) after `ms`. `ms = Infinity` waits as long as it takes.
 * A late rejection of `work` is observed, never unhandled.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout?: () => Error): Promise<T> {
  if (!Number.isFinite(ms)) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout ? onTimeout() : new DeadlineExceeded(ms)), Math.max(0, ms));
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Waits for `work` to settle at most `ms`; true when it settled (fulfilled or
 * rejected) in time, false when the deadline passed. Never rejects.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = work.then(
    () => true,
    () => true,
  );
  return withDeadline(settled, ms).catch(() => false);
}
