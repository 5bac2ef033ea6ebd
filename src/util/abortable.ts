/**
 * Settles as `work` does, or rejects with `signal.reason` as soon as `signal` aborts —
 * whichever comes first. For work that may be slow to notice its signal: the caller
 * moves on at once and `work`'s late result (or rejection) is dropped, never
 * unhandled. The abort listener is removed when the race is decided.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {}); // a rejection after the abort won has nowhere to go
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
