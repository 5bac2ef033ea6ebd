import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { DestinationStream } from 'pino';
import { ActorSystem } from './actors/ActorSystem.js';
import { TokenService } from './auth/tokens.js';
import type { Config } from './config/schema.js';
import { resolveJwtSecret } from './config/secret.js';
import { createMemoryCoordination } from './coordination/memory/index.js';
import { SESSION_TOUCH_EVERY_MS, type Coordination } from './coordination/ports.js';
import { createRedisCoordination } from './coordination/redis/index.js';
import { Dashboard } from './dashboard/Dashboard.js';
import { createCompactor } from './docs/compact.js';
import { DocumentService } from './docs/index.js';
import { errorMessage } from './errors.js';
import type { Feature } from './Feature.js';
import { Gateway } from './gateway/Gateway.js';
import { TokenBucket } from './gateway/TokenBucket.js';
import { Ingest, queueOptionsOf } from './ingest/index.js';
import { LogFactory, type Logger } from './observability/logger.js';
import { createMetricsRegistry, type Registry } from './observability/metrics.js';
import { StatsRegistry } from './observability/Stats.js';
import { WorkerPool } from './pool/WorkerPool.js';
import { Presence } from './presence/Presence.js';
import type { CleanupEvents } from './presence/UsageCleanup.js';
import { openStorage, type Storage } from './storage/index.js';
import type { TaskManager } from './tasks/TaskManager.js';
import { Tasks } from './tasks/Tasks.js';
import { withDeadline } from './util/deadline.js';

export interface RuntimeOptions {
  /** Where log lines go (tests capture them). @default stdout */
  readonly logDestination?: DestinationStream;
  /** Skip the gateway (runtime-core tests that need no sockets). @default true */
  readonly gateway?: boolean;
  /** Pool thread entry (tests: crash / hang fixtures around the real one). @default src/pool/worker.js */
  readonly ingestWorkerFilename?: string;
}

/** How long one readiness check may take before `/readyz` counts it as down. */
const READINESS_TIMEOUT_MS = 1_000;

/** The parts a runtime is made of, in the order they are built (shutdown walks them in reverse). */
interface Parts {
  readonly config: Config;
  readonly instanceId: string;
  readonly logs: LogFactory;
  readonly metrics: Registry;
  readonly coordination: Coordination;
  readonly storage: Storage;
  readonly actors: ActorSystem;
  readonly pool: WorkerPool;
  readonly gateway: Gateway | null;
  readonly cleanupEvents: EventEmitter<CleanupEvents>;
  readonly presence: Presence;
  readonly docs: DocumentService;
  readonly tasks: Tasks;
  readonly ingest: Ingest;
  readonly dashboard: Dashboard;
}

/**
 * The composition root. It reads top to bottom in the order the parts depend on each
 * other — config → backends → actors and CPU workers → web host → supervisor
 * (presence) → features → listen — and shuts down in reverse. Nothing below reads the
 * environment; every feature has the shape of {@link Feature}.
 */
export class Runtime {
  readonly config: Config;
  readonly instanceId: string;
  readonly logs: LogFactory;
  readonly log: Logger;
  readonly metrics: Registry;
  /** Sessions, usage, leases, tasks, bus, instances, document log, job queue: memory or Redis (coordination/). */
  readonly coordination: Coordination;
  /** Documents, files, chunks, vectors, upload bytes, key records: SQLite or PostgreSQL (storage/). */
  readonly storage: Storage;
  readonly actors: ActorSystem;
  /** The uWS web host (null in runtimes started without sockets). */
  readonly gateway: Gateway | null;
  /** leader / lost / sweep events of the usage cleanup, whichever incarnation runs it. */
  readonly cleanupEvents: EventEmitter<CleanupEvents>;
  /** Collaborative documents: doc actors, /doc socket, /api/docs, Socket.IO notes (docs/). */
  readonly docs: DocumentService;
  /** Background tasks: create, stop anywhere, list (tasks/). */
  readonly tasks: TaskManager;
  /** Files, jobs, embeddings, retrieval (ingest/). */
  readonly ingest: Ingest;
  private readonly pool: WorkerPool;
  /** Every feature, in start order. */
  private readonly features: readonly Feature[];
  private boundPort = 0;
  private stopping: Promise<void> | null = null;

  private constructor(parts: Parts) {
    ({ config: this.config, instanceId: this.instanceId, logs: this.logs, metrics: this.metrics } = parts);
    ({ coordination: this.coordination, storage: this.storage, actors: this.actors, pool: this.pool, gateway: this.gateway } = parts);
    this.log = parts.logs.forComponent('runtime');
    this.cleanupEvents = parts.cleanupEvents;
    this.docs = parts.docs;
    this.tasks = parts.tasks.manager;
    this.ingest = parts.ingest;
    this.features = [parts.presence, parts.docs, parts.tasks, parts.ingest, parts.dashboard];
  }

  static async start(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
    // 1. Identity: instance id, logs, metrics.
    const instanceId = config.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const logs = new LogFactory({ level: config.log.level, components: config.log.components, instanceId }, options.logDestination);
    const log = logs.forComponent('runtime');
    const metrics = createMetricsRegistry(instanceId);

    // 2. Backends. One coordination backend provides every coordination port (document log and job queue
    //    included); storage is SQLite (+ sqlite-vec, in its own thread) or PostgreSQL (+ pgvector).
    const backendOptions = {
      logger: logs.forComponent('coordination'),
      jobs: queueOptionsOf(config),
      // A heartbeating session must never look idle for long next to the sweep's timeout.
      sessionTouchEveryMs: Math.min(SESSION_TOUCH_EVERY_MS, Math.floor(config.presence.sessionTimeoutMs / 4)),
    };
    const coordination =
      config.coordination === 'redis'
        ? await createRedisCoordination({ ...backendOptions, url: config.redisUrl!, keyPrefix: config.redisKeyPrefix })
        : createMemoryCoordination(backendOptions);
    log.info({ coordination: coordination.kind, keyPrefix: coordination.kind === 'redis' ? config.redisKeyPrefix : undefined }, 'coordination backend ready');
    const storage = await openStorage({
      kind: config.storage,
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      postgres: config.postgres,
      logger: logs.forComponent('storage'),
    });
    const { secret, source } = resolveJwtSecret(config);
    if (source !== 'config') log.warn({ file: `${config.dataDir}/.jwt_secret`, source }, 'no JWT_SECRET set: using a random secret kept in the data dir');
    const tokens = new TokenService(secret);

    // 3. Actors and CPU workers: the Piscina pool runs extraction, chunking and embedding (bulk lane)
    //    and Yjs merges (interactive lane); figures for the dashboard, /api/stats and the heartbeat.
    const actors = new ActorSystem({ logger: logs.forComponent('actors'), registry: metrics });
    const pool = new WorkerPool({
      size: config.threadPoolSize,
      interactiveThreads: config.pool.interactiveThreads,
      limits: { maxOldGenerationSizeMb: config.pool.maxOldGenerationSizeMb, maxYoungGenerationSizeMb: config.pool.maxYoungGenerationSizeMb },
      filename: options.ingestWorkerFilename,
      log: logs.forComponent('pool'),
    });
    const stats = new StatsRegistry(logs.forComponent('stats'));

    // 4. The web host: built now so features can attach to it; it listens last.
    const gateway =
      options.gateway === false ? null : new Gateway({ config, instanceId, tokens, coordination, registry: metrics, log: logs.forComponent('gateway'), readiness: readinessOf(coordination, storage) });

    // 5. Observability (figures and the stats sampler, read by the heartbeat), the supervisor (presence), the features.
    const cleanupEvents = new EventEmitter<CleanupEvents>();
    const dashboard = new Dashboard({ instanceId, stats, coordination, actors, cleanupEvents, sockets: gateway, log: logs.forComponent('stats') });
    const presence = new Presence({
      config,
      instanceId,
      coordination,
      actors,
      metrics,
      cleanupEvents,
      log: logs.forComponent('presence'),
      stats: () => ({ ...dashboard.latest(), connections: gateway?.connectionCount() ?? 0 }),
    });
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
    const tasks = new Tasks({ config, instanceId, coordination, actors, log: logs.forComponent('tasks'), metrics, rooms: gateway });
    presence.onDeadInstance((id) => tasks.manager.removeDeadInstance(id));
    stats.register('tasks', () => ({ running: tasks.manager.localTasks().length }));
    const ingest = new Ingest({ config, coordination, files: storage.files, uploads: storage.uploads, keyRecords: storage.keys, pool, rooms: gateway, secret, logs });
    const runtime = new Runtime({ config, instanceId, logs, metrics, coordination, storage, actors, pool, gateway, cleanupEvents, presence, docs, tasks, ingest, dashboard });

    // 6. Attach, start, listen.
    return runtime.open();
  }

  private async open(): Promise<Runtime> {
    const { gateway } = this;
    if (gateway) for (const feature of this.features) feature.attach?.(gateway);
    for (const feature of this.features) await feature.start?.();
    this.boundPort = gateway ? await gateway.listen() : 0;
    this.log.info({ host: this.config.host, port: this.boundPort, pid: process.pid, transport: gateway?.transport }, 'switchyard started');
    return this;
  }

  /** The port the web host listens on (0 without one). */
  get port(): number {
    return this.boundPort;
  }

  /**
   * Graceful shutdown, bounded by `shutdownTimeoutMs`: stop accepting, stop the
   * features (reverse order), close sockets with going-away, drain the mailboxes (the
   * cleanup releases its lease), close the features, then the backends (reverse order).
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
        await withDeadline(Promise.resolve().then(fn), left());
      } catch (err) {
        this.log.warn({ step: name, err: errorMessage(err) }, 'shutdown step did not finish cleanly');
      }
    };
    const reversed = [...this.features].reverse();
    await step('stop accepting', () => this.gateway?.stopAccepting());
    for (const feature of reversed) await step(`stop ${feature.name}`, () => feature.stop?.());
    await step('close sockets', () => this.gateway?.closeAll());
    await step('drain actors', () => this.actors.shutdown(left()));
    await step('close gateway', () => this.gateway?.close());
    for (const feature of reversed) await step(`close ${feature.name}`, () => feature.close?.());
    await step('close pool', () => this.pool.close());
    await step('close storage', () => this.storage.close());
    await step('close coordination', () => this.coordination.close());
    this.log.info('stopped');
    this.logs.flush();
  }
}

/** `/readyz`: every backend the runtime opened answers (coordination, job queue, storage). */
function readinessOf(coordination: Coordination, storage: Storage): () => Promise<Record<string, boolean>> {
  // A check is ready when it answers in time without failing (pings answer false or throw).
  const answers = (check: () => Promise<unknown>) =>
    withDeadline(Promise.resolve().then(check), READINESS_TIMEOUT_MS).then(
      (ok) => ok !== false,
      () => false,
    );
  return async () => {
    const [c, j, s] = await Promise.all([
      answers(() => coordination.ping()),
      answers(() => coordination.jobs.ping()),
      answers(() => storage.ping()),
    ]);
    return { coordination: c, jobs: j, storage: s };
  };
}
