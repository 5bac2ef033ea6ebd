import type { PoolEnvelope, PoolReply } from './messages.js';
import { PoolTaskError } from './PoolTaskError.js';

type TaskModule = { default: (payload: unknown) => unknown };

/**
 * Pool thread entry (Piscina): loads the envelope's task module and runs it.
 * Stateless per task; per-thread state is only what a task module keeps itself
 * (the local embedding model, loaded once on first use).
 *
 * Modules load on first use: a thread starts in milliseconds instead of loading
 * pdf.js, mammoth and TF.js up front (~0.3 s, more under load) — and a pool closed
 * right after start never terminates a thread in the middle of evaluating those
 * modules, which Node 20 can turn into a fatal error.
 */
export default async function handle(envelope: PoolEnvelope): Promise<PoolReply<unknown>> {
  const mod = (await import(envelope.handler)) as TaskModule;
  if (typeof mod.default !== 'function') throw new TypeError(`pool task module ${envelope.handler} has no default export`);
  try {
    return await mod.default(envelope.payload);
  } catch (err) {
    if (err instanceof PoolTaskError) return { failure: { code: err.code, message: err.message, permanent: err.permanent } };
    throw err; // a bug in the task: the main thread sees a crashed task (retried)
  }
}
