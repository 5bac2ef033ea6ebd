import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import type { Feature } from '../Feature.js';
import type { RoomEmitter, WebHost } from '../http/ports.js';
import { userRoom } from '../http/rooms.js';
import type { LogFactory, Logger } from '../observability/logger.js';
import type { WorkerPool } from '../pool/WorkerPool.js';
import type { FileStore, KeyRecordStore, UploadStore } from '../storage/ports.js';
import { FsKeyRecordStore, FsUploadStore } from '../storage/index.js';
import { ApiKeyStore } from './ApiKeyStore.js';
import { resolveKekRing } from './keyEncryptionKeys.js';
import { Embeddings } from './embed/Embeddings.js';
import { IngestService } from './IngestService.js';
import type { JobQueue, JobQueueOptions } from '../coordination/jobs/JobQueue.js';
import { registerIngestRoutes } from './routes.js';

export interface IngestDeps {
  readonly config: Config;
  readonly coordination: Coordination;
  readonly files: FileStore;
  /** Upload bytes (DATA_DIR/uploads when absent). */
  readonly uploads?: UploadStore;
  /** Sealed embedding-key records (DATA_DIR/keys when absent). */
  readonly keyRecords?: KeyRecordStore;
  /** Where `file:status` events go (the web host); null = nowhere. */
  readonly rooms: RoomEmitter | null;
  /** The JWT secret: only to read (and migrate) API keys stored before the key-encryption key existed. */
  readonly secret: string;
  readonly logs: LogFactory;
  /** The runtime's worker pool (shared with documents). */
  readonly pool: WorkerPool;
}

/**
 * Ingestion as a feature, on the runtime's pool and the backend's job queue
 * (`coordination.jobs`): the embedding provider and batcher, the service, its REST
 * routes and `file:status` events; start consumes jobs and re-enqueues unfinished files.
 */
export class Ingest implements Feature {
  readonly name = 'ingest';
  readonly service: IngestService;
  readonly queue: JobQueue;
  /** The runtime's pool (shared with documents; the runtime closes it). */
  readonly pool: WorkerPool;
  readonly embeddings: Embeddings;
  private readonly keys: ApiKeyStore;
  private readonly log: Logger;
  private stopped: Promise<void> | null = null;

  constructor(private readonly deps: IngestDeps) {
    const { config } = deps;
    const log = (this.log = deps.logs.forComponent('ingest'));
    const queue = (this.queue = deps.coordination.jobs); // built by the backend with queueOptionsOf(config)
    const pool = (this.pool = deps.pool);
    const embeddings = (this.embeddings = new Embeddings(config.ingest.embedding, pool));
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
    this.keys = keys;
    const rooms = deps.rooms;
    this.service = new IngestService(
      {
        files: deps.files,
        uploads: deps.uploads ?? new FsUploadStore(config.dataDir),
        queue,
        pool,
        embeddings,
        keys,
        log,
        notify: (ownerId, event) => {
          rooms?.emitToRoom(userRoom(ownerId), 'file:status', event).catch(() => {}); // best effort: the record is the truth
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
  }

  attach(web: WebHost): void {
    registerIngestRoutes(web, { service: this.service, keys: this.keys, embeddings: this.embeddings, maxFileBytes: this.deps.config.ingest.maxFileBytes });
  }

  async start(): Promise<void> {
    await this.service.start();
    this.log.info({ queue: this.queue.kind, provider: this.deps.config.ingest.embedding.provider, space: this.embeddings.space, threads: this.pool.size }, 'ingestion ready');
  }

  /** Stops consuming (running jobs end or are left to retry); the queue is the backend's and the pool the runtime's. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.service.close();
      this.embeddings.close();
    })();
    return this.stopped;
  }
}
