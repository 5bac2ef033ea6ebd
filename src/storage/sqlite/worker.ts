/**
 * Entry of the storage thread: one SqliteStore, exposed to the main thread with
 * comlink. Every call runs here, so a 100k-row vector query never blocks the
 * event loop. Expected refusals cross as plain fault objects (see StoreFault).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { expose } from 'comlink';
import { ErrorCode, SwitchyardError } from '../../errors.js';
import { nodeEndpoint } from './nodeEndpoint.js';
import { SqliteStore, type SqliteStoreOptions } from './SqliteStore.js';
import { StoreFault, type SerializedFault } from './StoreFault.js';

if (!parentPort) throw new Error('storage worker must run in a worker thread');

const store = new SqliteStore(workerData as SqliteStoreOptions);

type Methods = { [K in keyof SqliteStore]: SqliteStore[K] extends (...args: never[]) => unknown ? K : never }[keyof SqliteStore];

function guarded<K extends Methods>(name: K) {
  const fn = store[name] as (...args: unknown[]) => unknown;
  return (...args: unknown[]) => {
    try {
      return fn.apply(store, args);
    } catch (err) {
      if (err instanceof StoreFault || err instanceof SwitchyardError) throw { storeFault: true, code: err.code, message: err.message } satisfies SerializedFault;
      const sqlite = err as { code?: string; message?: string };
      throw { storeFault: true, code: ErrorCode.STORAGE_FAILED, message: `${sqlite.code ? `${sqlite.code}: ` : ''}${sqlite.message ?? String(err)}` } satisfies SerializedFault;
    }
  };
}

const api = {
  schemaVersion: () => store.schemaVersion,
  docCreate: guarded('docCreate'),
  docGet: guarded('docGet'),
  docLoadState: guarded('docLoadState'),
  docClaimState: guarded('docClaimState'),
  docSaveState: guarded('docSaveState'),
  docDelete: guarded('docDelete'),
  docCountByOwner: guarded('docCountByOwner'),
  fileCreate: guarded('fileCreate'),
  fileGet: guarded('fileGet'),
  fileUpdate: guarded('fileUpdate'),
  fileList: guarded('fileList'),
  fileDelete: guarded('fileDelete'),
  chunksReplace: guarded('chunksReplace'),
  chunksCount: guarded('chunksCount'),
  query: guarded('query'),
  close: () => store.close(),
  /** Fault injection for tests: the thread dies as if SQLite or a native addon crashed. */
  crash: (code: number) => process.exit(code),
};

export type StoreApi = {
  [K in Exclude<keyof typeof api, 'schemaVersion' | 'close' | 'crash'>]: SqliteStore[K & keyof SqliteStore];
} & { schemaVersion(): number; close(): void; crash(code: number): void };

expose(api, nodeEndpoint(parentPort));
