import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import type { RoomEmitter, RouteTarget } from '../http/ports.js';
import { userRoom } from '../http/rooms.js';
import type { LogFactory } from '../observability/logger.js';
import type { WorkerPool } from '../pool/WorkerPool.js';
import type { FileStore, KeyRecordStore, UploadStore } from '../storage/ports.js';
import { FsKeyRecordStore, FsUploadStore } from '../storage/index.js';
import { ApiKeyStore } from './ApiKeyStore.js';
import { resolveKekRing } from './keyEncryptionKeys.js';
import { Embeddings } from './embed/Embeddings.js';
import { IngestService } from './IngestService.js';
import type { JobQueue, JobQueueOptions } from '../coordination/jobs/JobQueue.js';
import { registerIngestRoutes } from './routes.js';

export { IngestService } from './IngestService.js';
export type { FileStatusEvent } from './IngestService.js';
export { EMBED_TASK, PREPARE_TASK } from './poolTasks.js';

export interface IngestDeps {
  readonly config: Config;
  readonly coordination: Coordination;
  readonly files: FileStore;
  /** Upload bytes (DATA_DIR/uploads when absent). */
  readonly uploads?: UploadStore;
  /** Sealed embedding-key records (DATA_DIR/keys when absent). */
  readonly keyRecords?: KeyRecordStore;
  readonly gateway: (RouteTarget & RoomEmitter) | null;
  /** The JWT secret: only to read (and migrate) API keys stored before the key-encryption key existed. */
  readonly secret: string;
  readonly logs: LogFactory;
  /** The runtime's worker pool (shared with documents). */
  readonly pool: WorkerPool;
}

/** Everything ingestion runs; `close()` stops the worker, then the queue (the pool belongs to the runtime). */
export interface Ingest {
  readonly service: IngestService;
  readonly queue: JobQueue;
  readonly pool: WorkerPool;
  readonly embeddings: Embeddings;
  close(): Promise<void>;
}

export function queueOptionsOf(config: Config): JobQueueOptions {
  const i = config.ingest;
  return {
    maxRetries: i.jobMaxRetries,
    backoffBaseMs: i.retryBaseMs,
    backoffMaxMs: i.retryMaxMs,
    timeoutMs: i.jobTimeoutMs,
    resultTtlMs: i.jobResultTtlMs,
    failureTtlMs: i.jobFailureTtlMs,
    leaseMs: i.leaseMs,
  };
}

/**
 * Builds ingestion on the runtime's pool and the backend's job queue
 * (`coordination.jobs`): the embedding provider and batcher, the
 * service, its REST routes and `file:status` events; then starts consuming and
 * re-enqueues unfinished files.
 */
export async function startIngest(deps: IngestDeps): Promise<Ingest> {
  const { config } = deps;
  const log = deps.logs.forComponent('ingest');
  const queue = deps.coordination.jobs; // built by the backend with queueOptionsOf(config)
  const pool = deps.pool;
  const embeddings = new Embeddings(config.ingest.embedding, pool);
  const ring = resolveKekRing({
    dataDir: config.dataDir,
    configured: config.ingest.keyEncryptionKey,
    previous: config.ingest.previousKeyEncryptionKeys,
    jwtSecret: deps.secret,
  });
  // With PostgreSQL the key records are shared by every instance, but a key kept in one DATA_DIR is not:
  // a user key stored through one instance could not be opened by the others. Refuse to store new ones.
  const unsharedKek = config.storage === 'postgres' && ring.source !== 'config';
  if (unsharedKek) log.warn('storage is postgres but ingest.keyEncryptionKey is not set: per-user embedding keys cannot be stored (set INGEST_KEY_ENCRYPTION_KEY, the same on every instance)');
  else if (ring.source !== 'config') log.info({ file: `${config.dataDir}/.kek`, source: ring.source }, 'no ingest.keyEncryptionKey set: embedding keys are encrypted with a key kept in the data dir');
  const keys = new ApiKeyStore(deps.keyRecords ?? new FsKeyRecordStore(config.dataDir), ring, config.ingest.embedding.apiKey, {
    refuseNewKeys: unsharedKek ? 'per-user embedding keys need ingest.keyEncryptionKey (INGEST_KEY_ENCRYPTION_KEY) set to the same value on every instance when storage is postgres' : null,
  });
  const gateway = deps.gateway;
  const service = new IngestService(
    {
      files: deps.files,
      uploads: deps.uploads ?? new FsUploadStore(config.dataDir),
      queue,
      pool,
      embeddings,
      keys,
      log,
      notify: (ownerId, event) => {
        gateway?.emitToRoom(userRoom(ownerId), 'file:status', event).catch(() => {}); // best effort: the record is the truth
      },
    },
    {
      dataDir: config.dataDir,
      limits: { maxFileBytes: config.ingest.maxFileBytes, maxPages: config.ingest.maxPages, maxInflatedBytes: config.ingest.maxInflatedBytes },
      extractTimeoutMs: config.ingest.extractTimeoutMs,
      chunking: { chunkTokens: config.ingest.chunkTokens, overlapTokens: config.ingest.chunkOverlapTokens },
      concurrency: config.ingest.concurrency,
      reconcileIntervalMs: config.ingest.reconcileIntervalMs,
      deleteUploadWhenFinished: config.ingest.uploadRetention === 'delete-when-finished',
    },
  );
  if (gateway) registerIngestRoutes(gateway, { service, keys, embeddings, maxFileBytes: config.ingest.maxFileBytes });
  await service.start();
  log.info({ queue: queue.kind, provider: config.ingest.embedding.provider, space: embeddings.space, threads: pool.size }, 'ingestion ready');
  let closed: Promise<void> | null = null;
  return {
    service,
    queue,
    pool,
    embeddings,
    close: () => {
      closed ??= (async () => {
        await service.close(); // the queue is the backend's: it closes with it
        embeddings.close(); // the pool is shared: the runtime closes it
      })();
      return closed;
    },
  };
}
