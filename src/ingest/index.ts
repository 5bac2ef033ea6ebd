import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import type { RoomEmitter, RouteTarget } from '../http/ports.js';
import { userRoom } from '../http/rooms.js';
import type { LogFactory } from '../observability/logger.js';
import type { WorkerPool } from '../pool/WorkerPool.js';
import type { FileStore } from '../storage/ports.js';
import { ApiKeyStore } from './ApiKeyStore.js';
import { Embeddings } from './embed/Embeddings.js';
import { IngestService } from './IngestService.js';
import type { JobQueue, JobQueueOptions } from '../coordination/jobs/JobQueue.js';
import { registerIngestRoutes } from './routes.js';

export { IngestService } from './IngestService.js';
export type { FileStatusEvent } from './IngestService.js';

export interface IngestDeps {
  readonly config: Config;
  readonly coordination: Coordination;
  readonly files: FileStore;
  readonly gateway: (RouteTarget & RoomEmitter) | null;
  /** The JWT secret: stored API keys are encrypted with a key derived from it. */
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
  const keys = new ApiKeyStore(config.dataDir, deps.secret, config.ingest.embedding.apiKey);
  const gateway = deps.gateway;
  const service = new IngestService(
    {
      files: deps.files,
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
      maxFileBytes: config.ingest.maxFileBytes,
      maxPages: config.ingest.maxPages,
      chunking: { chunkTokens: config.ingest.chunkTokens, overlapTokens: config.ingest.chunkOverlapTokens },
      concurrency: config.ingest.concurrency,
      reconcileIntervalMs: config.ingest.reconcileIntervalMs,
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
