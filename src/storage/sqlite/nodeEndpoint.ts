import type { Endpoint } from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';

/**
 * comlink's adapter for worker_threads (`comlink/dist/umd/node-adapter`). Its UMD
 * bundle sets `module.exports` to the function while its typings declare a default
 * export, so the default import is the function at run time and `{ default }` to the
 * type checker; this accepts both.
 */
type Adapter = (nep: unknown) => Endpoint;
const loaded = adapter as unknown as Adapter | { default: Adapter };
export const nodeEndpoint: Adapter = typeof loaded === 'function' ? loaded : loaded.default;
