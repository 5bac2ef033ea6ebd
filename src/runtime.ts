import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { DestinationStream } from 'pino';
import { ActorSystem } from './actors/ActorSystem.js';
import { TokenService } from './auth/tokens.js';
import type { Config } from './config/schema.js';
import { resolveJwtSecret } from './config/secret.js';
import { createMemoryCoordination } from './coordination/memory/index.js';
import type { Coordination } from './coordination/ports.js';
import { createRedisCoordination } from './coordination/redis/index.js';
import { errorMessage } from './errors.js';
import { queueOptionsOf, startIngest, type Ingest } from './ingest/index.js';
import { Gateway } from './gateway/Gateway.js';
import { TokenBucket } from './gateway/TokenBucket.js';
import { LogFactory, type Logger } from './observability/logger.js';
import { createMetricsRegistry, type Registry } from './observability/metrics.js';
import { StatsRegistry } from './observability/Stats.js';
import { startObservability } from './dashboard/wire.js';
import { InstanceHeartbeat } from './presence/InstanceHeartbeat.js';
import { registerSupervisor } from './presence/supervisor.js';
import { CleanupMetrics, UsageCleanup, type CleanupEvents } from './presence/UsageCleanup.js';
import { openStorage, type Storage } from './storage/index.js';
import { DocumentService } from './docs/index.js';
import { createCompactor } from './docs/compact.js';
import { WorkerPool } from './pool/WorkerPool.js';
import type { TaskManager } from './tasks/TaskManager.js';
import { startTasks } from './tasks/wire.js';

export interface RuntimeOptions {
  /** Where log lines go (tests capture them). @default stdout */
  readonly logDestination?: DestinationStream;
  /** Skip the gateway (runtime-core tests that need no sockets). @default true */
  readonly gateway?: boolean;
  /** Pool thread entry (tests: crash / hang fixtures around the real one). @default src/pool/worker.js */
  readonly ingestWorkerFilename?: string;
}

/** How long an escalated supervisor child stays down before it is started again. */
const REVIVAL_DELAY_MS = 5_000;

/**
 * The composition root: builds every part once from the frozen config and wires
 * them — coordination backend → actor system → supervisor (cleanup, heartbeat) →
 * gateway. Nothing below reads the environment.
 */
export class Runtime {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly config: Config,
    readonly instanceId: string,
    readonly logs: LogFactory,
    readonly log: Logger,
    readonly metrics: Registry,
    readonly coordination: Coordination,
    readonly actors: ActorSystem,
    /** leader / lost / sweep events of the usage cleanup, whichever incarnation runs it. */
    readonly cleanupEvents: EventEmitter<CleanupEvents>,
    readonly gateway: Gateway | null,
    readonly port: number,
    /** Documents, files, chunks, vectors: SQLite in its own thread (storage/). */
    readonly storage: Storage,
    /** Background tasks: create, stop anywhere, list (tasks/). */
    readonly tasks: TaskManager,
    /** Files, jobs, pool, embeddings, retrieval (ingest/). */
    readonly ingest: Ingest,
    /** Collaborative documents: doc actors, /doc socket, /api/docs, update log (docs/). */
    readonly docs: DocumentService,
  ) {}

  static async start(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
    const instanceId = config.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const logs = new LogFactory({ level: config.log.level, components: config.log.components, instanceId }, options.logDestination);
    const log = logs.forComponent('runtime');
    const metrics = createMetricsRegistry(instanceId);

    // One backend provides every coordination port, the document log and the job queue included.
    const backendOptions = { logger: logs.forComponent('coordination'), jobs: queueOptionsOf(config) };
    const coordination =
      config.coordination === 'redis'
        ? await createRedisCoordination({ ...backendOptions, url: config.redisUrl!, keyPrefix: config.redisKeyPrefix })
        : createMemoryCoordination(backendOptions);
    log.info({ coordination: coordination.kind, keyPrefix: coordination.kind === 'redis' ? config.redisKeyPrefix : undefined }, 'coordination backend ready');

    // ---- storage (SQLite + sqlite-vec in one thread, or PostgreSQL + pgvector) ----
    const storage = await openStorage({
      kind: config.storage,
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      postgres: config.postgres,
      logger: logs.forComponent('storage'),
    });
    // ---- end storage ----

    const actors = new ActorSystem({ logger: logs.forComponent('actors'), registry: metrics });
    const cleanupMetrics = new CleanupMetrics(metrics);
    const cleanupEvents = new EventEmitter<CleanupEvents>();
    // Figures for the dashboard, /api/stats and the heartbeat: modules add theirs with stats.register(name, () => …).
    const stats = new StatsRegistry(logs.forComponent('stats'));
    let gateway: Gateway | null = null;
    const supervisor = registerSupervisor(
      actors,
      () => new UsageCleanup(coordination, { owner: instanceId, ...config.presence, onDeadInstance: (id) => tasks.removeDeadInstance(id) }, cleanupMetrics, logs.forComponent('presence'), cleanupEvents),
      () =>
        new InstanceHeartbeat(
          coordination.instances,
          { instanceId, ...config.instances, stats: () => ({ ...statsSampler.latest(), connections: gateway?.connectionCount() ?? 0 }) },
          logs.forComponent('presence'),
        ),
      { revivalDelayMs: REVIVAL_DELAY_MS },
    );

    const { secret, source } = resolveJwtSecret(config);
    if (source !== 'config') log.warn({ file: `${config.dataDir}/.jwt_secret`, source }, 'no JWT_SECRET set: using a random secret kept in the data dir');
    const tokens = new TokenService(secret);

    let port = 0;
    if (options.gateway !== false) {
      gateway = new Gateway({
        config,
        instanceId,
        tokens,
        coordination,
        registry: metrics,
        log: logs.forComponent('gateway'),
      });
    }
    // The Piscina pool for all CPU work: extraction, chunking, embedding (ingest, bulk lane) and Yjs merges (docs, interactive lane).
    const pool = new WorkerPool({
      size: config.threadPoolSize,
      interactiveThreads: config.pool.interactiveThreads,
      limits: { maxOldGenerationSizeMb: config.pool.maxOldGenerationSizeMb, maxYoungGenerationSizeMb: config.pool.maxYoungGenerationSizeMb },
      filename: options.ingestWorkerFilename,
      log: logs.forComponent('pool'),
    });
    // ---- docs: `doc` actors, /doc/<id> y-websocket socket, /api/docs routes, update log ----
    const docs = await DocumentService.create({
      config,
      instanceId,
      actors,
      storage: storage.documents,
      coordination,
      registry: metrics,
      logger: logs.forComponent('docs'),
      compact: createCompactor(pool),
      rateLimit: (ratePerSec, burst) => new TokenBucket(ratePerSec, burst, Date.now()),
    });
    if (gateway) docs.attach(gateway); // before listen: uWS socket routes
    gateway?.useNotes(docs.notes); // Socket.IO `ydoc:*` note events over the same document actors
    // ---- end docs ----
    if (gateway) {
      port = await gateway.listen();
    }
    // ---- tasks: manager + `completion` kind, /api/tasks routes, stop-command listener ----
    const tasks = await startTasks({ config, instanceId, coordination, actors, log: logs.forComponent('tasks'), metrics, gateway });
    // ---- end tasks ----
    // ---- ingest: pool, job queue (BullMQ on Redis / memory), embeddings, /api/files + /api/retrieval routes ----
    const ingest = await startIngest({
      config,
      coordination,
      files: storage.files,
      uploads: storage.uploads,
      keyRecords: storage.keys,
      pool,
      gateway,
      secret,
      logs,
    });
    // ---- end ingest ----
    // ---- observability: stats sampler actor (1 s, published on the bus), dashboard at /, /api/stats ----
    stats.register('tasks', () => ({ running: tasks.localTasks().length }));
    const statsSampler = startObservability({ instanceId, stats, coordination, actors, cleanupEvents, gateway, log: logs.forComponent('stats') });
    // ---- end observability ----
    supervisor.start();
    const runtime = new Runtime(config, instanceId, logs, log, metrics, coordination, actors, cleanupEvents, gateway, port, storage, tasks, ingest, docs);
    log.info({ host: config.host, port, pid: process.pid, transport: gateway?.transport }, 'switchyard started');
    return runtime;
  }

  /**
   * Graceful shutdown, bounded by `shutdownTimeoutMs`: stop accepting, close
   * sockets with going-away, drain mailboxes (the cleanup releases its lease on
   * stop), deregister, close the backend, flush logs.
   */
  stop(reason = 'requested'): Promise<void> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async shutdown(reason: string): Promise<void> {
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    this.log.info({ reason, deadlineMs: this.config.shutdownTimeoutMs }, 'shutting down');
    const step = async (name: string, fn: () => Promise<unknown> | unknown) => {
      try {
        await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('deadline')), left()).unref())]);
      } catch (err) {
        this.log.warn({ step: name, err: errorMessage(err) }, 'shutdown step did not finish cleanly');
      }
    };
    await step('stop accepting', () => this.gateway?.stopAccepting());
    await step('stop tasks', () => this.tasks.shutdown());
    await step('stop ingest', () => this.ingest.close());
    await step('close sockets', () => this.gateway?.closeAll());
    await step('close document sockets', () => this.docs.closeSockets());
    await step('drain actors', () => this.actors.shutdown(left()));
    await step('close gateway', () => this.gateway?.close());
    await step('close document log', () => this.docs.close());
    await step('close coordination', () => this.coordination.close());
    await step('close pool', () => this.ingest.pool.close());
    await step('close storage', () => this.storage.close());
    this.log.info('stopped');
    this.logs.flush();
  }
}
