import { JobTimeoutError } from './errors.js';
import type { JobContext, JobProcessor } from './JobQueue.js';

/**
 * Runs one attempt with its timeout. Whatever aborts the attempt (timeout, cancel,
 * shutdown) aborts `signal`, so pool work started with it is terminated; the
 * attempt settles at once even if the processor ignores the signal (its late
 * result is dropped). Resolves with the error, or null on success.
 */
export async function runAttempt(
  processor: JobProcessor,
  job: Omit<JobContext, 'signal'>,
  timeoutMs: number,
  external: AbortSignal,
): Promise<unknown | null> {
  const controller = new AbortController();
  const onExternal = () => controller.abort(external.reason);
  if (external.aborted) onExternal();
  else external.addEventListener('abort', onExternal, { once: true });
  const timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
  timer.unref();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(controller.signal.reason);
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // observed by the race below
  const work = Promise.resolve().then(() => processor({ ...job, signal: controller.signal }));
  work.catch(() => {}); // a late failure after the abort has nowhere to go
  try {
    await Promise.race([work, aborted]);
    return null;
  } catch (err) {
    // An abort reason wins over whatever error the aborted work threw on its way out.
    return controller.signal.aborted ? controller.signal.reason : err;
  } finally {
    clearTimeout(timer);
    external.removeEventListener('abort', onExternal);
    if (onAbort) controller.signal.removeEventListener('abort', onAbort);
  }
}
