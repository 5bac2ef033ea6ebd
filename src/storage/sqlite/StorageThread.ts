import { Worker } from 'node:worker_threads';
import { wrap, releaseProxy, type Remote } from 'comlink';
import { ErrorCode, SwitchyardError, errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { workerExecArgv } from '../../util/workerExecArgv.js';
import { StorageError, StorageUnavailableError } from '../errors.js';
import { nodeEndpoint } from './nodeEndpoint.js';
import type { SqliteStoreOptions } from './SqliteStore.js';
import { isSerializedFault } from './StoreFault.js';
import type { StoreApi } from './worker.js';

/** Codes a fault from the thread may carry through; anything else becomes STORAGE_FAILED. */
const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

export interface StorageThreadOptions extends SqliteStoreOptions {
  readonly logger: Logger;
  /** First restart delay after a crash; doubles per crash in a row. @default 100 // ms */
  readonly restartMinMs?: number;
  /** Cap on the restart delay. @default 5_000 // ms */
  readonly restartMaxMs?: number;
}

/** One incarnation of the thread. `died` rejects when it exits, so no call can hang on a dead thread. */
interface Incarnation {
  readonly worker: Worker;
  readonly remote: Remote<StoreApi>;
  readonly died: Promise<never>;
  readonly startedAt: number;
}

type Method = Exclude<keyof StoreApi, 'crash'>;
type Args<K extends Method> = Parameters<StoreApi[K]>;
type Result<K extends Method> = Awaited<ReturnType<StoreApi[K]>>;

const WORKER_URL = new URL('./worker.js', import.meta.url);
/** A thread that stayed up this long resets the restart backoff. */
const STABLE_AFTER_MS = 30_000;
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * The main thread's handle on the storage thread. A crash (the thread exits
 * without being asked) rejects every call in flight with STORAGE_UNAVAILABLE and
 * starts a new thread after a capped backoff; calls made while none is up reject
 * at once rather than queueing without bound.
 */
export class StorageThread {
  private current: Incarnation | null = null;
  private closing = false;
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Number of threads started, including restarts (for tests and logs). */
  generation = 0;

  private constructor(private readonly options: StorageThreadOptions) {}

  /** Starts the thread and waits until the database is open and migrated; rejects if it cannot be. */
  static async start(options: StorageThreadOptions): Promise<StorageThread> {
    const thread = new StorageThread(options);
    const first = thread.spawn();
    try {
      const version = await Promise.race([first.remote.schemaVersion(), first.died]);
      options.logger.info({ dataDir: options.dataDir, schemaVersion: version }, 'storage thread ready');
    } catch (err) {
      thread.closing = true;
      if (thread.restartTimer) clearTimeout(thread.restartTimer);
      await first.worker.terminate();
      throw err;
    }
    return thread;
  }

  /** True while a thread is up. */
  get alive(): boolean {
    return this.current !== null;
  }

  async call<K extends Method>(method: K, ...args: Args<K>): Promise<Result<K>> {
    const inc = this.current;
    if (this.closing) throw new StorageUnavailableError('storage is closed');
    if (!inc) throw new StorageUnavailableError('storage thread is restarting after a crash; retry shortly');
    try {
      const fn = inc.remote[method] as unknown as (...a: Args<K>) => Promise<Result<K>>;
      return await Promise.race([fn(...args), inc.died]);
    } catch (err) {
      if (isSerializedFault(err)) {
        throw new StorageError(KNOWN_CODES.has(err.code) ? (err.code as ErrorCode) : ErrorCode.STORAGE_FAILED, err.message);
      }
      if (err instanceof SwitchyardError) throw err;
      throw new StorageError(ErrorCode.STORAGE_FAILED, `storage ${method} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Fault injection for tests: makes the thread exit as a crash would. */
  crashForTest(code = 70): void {
    void this.current?.remote.crash(code).catch(() => {});
  }

  /** Closes the database (checkpointing the WAL) and ends the thread. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const inc = this.current;
    this.current = null;
    if (!inc) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        inc.remote.close(),
        inc.died,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), CLOSE_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      this.options.logger.warn({ err: errorMessage(err) }, 'storage thread did not close its database cleanly');
    } finally {
      clearTimeout(timer);
      inc.remote[releaseProxy]();
      await inc.worker.terminate();
    }
  }

  private spawn(): Incarnation {
    const { logger: _logger, restartMinMs: _min, restartMaxMs: _max, ...storeOptions } = this.options;
    const worker = new Worker(WORKER_URL, { workerData: storeOptions, name: 'switchyard-storage', execArgv: workerExecArgv() });
    const remote = wrap<StoreApi>(nodeEndpoint(worker));
    let lastError: unknown = null;
    let rejectDied!: (err: unknown) => void;
    const died = new Promise<never>((_, reject) => {
      rejectDied = reject;
    });
    died.catch(() => {}); // only observed through races
    worker.on('error', (err) => {
      lastError = err;
    });
    const inc: Incarnation = { worker, remote, died, startedAt: Date.now() };
    worker.once('exit', (code) => {
      const reason = lastError ? errorMessage(lastError) : `exit code ${code}`;
      rejectDied(new StorageUnavailableError(`storage thread ${this.closing ? 'closed' : 'crashed'} (${reason})`, { cause: lastError ?? undefined }));
      if (this.current === inc) this.onCrash(inc, reason);
    });
    this.current = inc;
    this.generation += 1;
    return inc;
  }

  private onCrash(inc: Incarnation, reason: string): void {
    this.current = null;
    if (this.closing) return;
    this.crashes = Date.now() - inc.startedAt > STABLE_AFTER_MS ? 1 : this.crashes + 1;
    const min = this.options.restartMinMs ?? 100;
    const delay = Math.min(min * 2 ** (this.crashes - 1), this.options.restartMaxMs ?? 5_000);
    this.options.logger.error({ reason, restartInMs: delay, crashes: this.crashes }, 'storage thread crashed; calls in flight failed; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.closing) return;
      const next = this.spawn();
      Promise.race([next.remote.schemaVersion(), next.died]).then(
        () => this.options.logger.info({ generation: this.generation }, 'storage thread restarted'),
        () => {}, // its exit handler schedules the next attempt
      );
    }, delay);
  }
}
