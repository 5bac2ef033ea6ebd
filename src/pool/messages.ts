/**
 * What crosses the thread boundary. The pool runs any task module: the envelope
 * names the module (a file URL, resolved by the caller that owns the task) and
 * carries its payload, so the pool knows nothing of what its tasks do.
 *
 * A task module's default export takes the payload and returns the result; it
 * throws a {@link PoolTaskError} for an expected failure.
 */
export interface PoolEnvelope {
  /** `file:` URL of the task module (e.g. `new URL('./prepareTask.js', import.meta.url).href`). */
  readonly handler: string;
  readonly payload: unknown;
}

/**
 * Expected failures come back as values: structured clone drops an Error's own
 * fields (code, permanence) on the way across the thread boundary.
 */
export interface PoolFailure {
  readonly failure: { readonly code: string; readonly message: string; readonly permanent: boolean };
}

export type PoolReply<R> = R | PoolFailure;

export function isPoolFailure(value: unknown): value is PoolFailure {
  return typeof value === 'object' && value !== null && 'failure' in value;
}
