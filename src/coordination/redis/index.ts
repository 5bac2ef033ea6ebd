import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../../observability/logger.js';
import { withDeadline } from '../../util/deadline.js';
import { DEFAULT_JOB_QUEUE_OPTIONS, type JobQueueOptions } from '../jobs/JobQueue.js';
import type { Coordination } from '../ports.js';
import { BullJobQueue } from './BullJobQueue.js';
import { closeClient, coalesceWrites, createClient, waitReady } from './connection.js';
import { RedisMemberSets } from './RedisMemberSets.js';
import { DOC_LOG_BLOCK_MS, RedisDocumentLog } from './RedisDocumentLog.js';
import { RedisInstanceRegistry } from './RedisInstanceRegistry.js';
import { RedisKeys } from './RedisKeys.js';
import { RedisLeaseLock } from './RedisLeaseLock.js';
import { DEFAULT_BUS_BACKOFF, RedisMessageBus, type BusBackoff } from './RedisMessageBus.js';
import { RedisRoomMembers } from './RedisRoomMembers.js';
import { RedisSessionPool } from './RedisSessionPool.js';
import { RedisTaskRegistry } from './RedisTaskRegistry.js';
import { RedisUsagePool } from './RedisUsagePool.js';
import { Scripts } from './scripts.js';

export { RedisKeys, DEFAULT_BUS_BACKOFF, type BusBackoff };
export { parseSentinelUrl } from './connection.js';
export { checkNoEviction } from './BullJobQueue.js';

export interface RedisCoordinationOptions {
  /** `redis://`, `rediss://` or `redis+sentinel://h1:26379,h2:26379/mymaster`. */
  readonly url: string;
  /** Prefix of every key and channel (REDIS_KEY_PREFIX), e.g. `switchyard`. */
  readonly keyPrefix: string;
  /** @default silentLogger() */
  readonly logger?: Logger;
  /** Resubscribe retry backoff. @default { minMs: 1_000, maxMs: 30_000 } */
  readonly busBackoff?: BusBackoff;
  /** How long start-up waits for Redis before failing. @default 10_000 // ms */
  readonly connectTimeoutMs?: number;
  /** Bound on one command's round trip. @default 5_000 // ms */
  readonly commandTimeoutMs?: number;
  /** Job queue settings (config `ingest.*`). @default DEFAULT_JOB_QUEUE_OPTIONS */
  readonly jobs?: JobQueueOptions;
  /** Longest blocking XREAD of the document log. @default 5_000 // ms */
  readonly docLogBlockMs?: number;
  /** A session is written at most this often (touches in between are answered). @default SESSION_TOUCH_EVERY_MS */
  readonly sessionTouchEveryMs?: number;
}

/** ping() gives up after this, so a readiness probe never hangs on a stalled socket. */
const PING_TIMEOUT_MS = 1_000;

/**
 * The cluster backend, built from one set of named connections (CLIENT LIST shows them):
 *
 * - `<prefix>:cmd` — every non-blocking command: the pools, lock, registries, bus
 *   publishes, document log appends/reads, and BullMQ's Queue;
 * - `<prefix>:sub` — bus subscriptions (a subscribed connection can run nothing else);
 * - `<prefix>:docs-reader` — the document log's one blocking XREAD;
 * - `<prefix>:jobs-worker` — opened only by a job worker (BullMQ's Worker), which
 *   duplicates it once for its blocking BZPOPMIN (BullMQ requires both).
 *
 * So three connections, five on an instance that runs ingestion jobs (it was seven,
 * opened from three folders). Rejects with BackendUnavailableError when Redis does
 * not answer within `connectTimeoutMs`, and with QUEUE_MISCONFIGURED when Redis may
 * evict keys; after that, outages surface per call and the clients reconnect on their own.
 */
export async function createRedisCoordination(options: RedisCoordinationOptions): Promise<Coordination> {
  const log = options.logger ?? silentLogger();
  const keys = new RedisKeys(options.keyPrefix);
  const blockMs = options.docLogBlockMs ?? DOC_LOG_BLOCK_MS;
  const base = { url: options.url, logger: log, commandTimeoutMs: options.commandTimeoutMs };
  const redis = createClient({ ...base, name: `${options.keyPrefix}:cmd` });
  coalesceWrites(redis);
  // Our own resubscribe (RedisMessageBus) replaces ioredis', which retries nothing and reports nothing.
  const subscriber = createClient({ ...base, name: `${options.keyPrefix}:sub` }, { autoResubscribe: false });
  // A blocked XREAD must not be cut by the command timeout.
  const reader = createClient({ ...base, name: `${options.keyPrefix}:docs-reader`, commandTimeoutMs: blockMs + 5_000 });
  const clients = [redis, subscriber, reader];
  const scripts = new Scripts(redis);
  let jobs: BullJobQueue;
  let bus: RedisMessageBus | undefined;
  try {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    await Promise.all(clients.map((c) => waitReady(c, timeoutMs)));
    bus = new RedisMessageBus(redis, subscriber, scripts, keys, log, options.busBackoff ?? DEFAULT_BUS_BACKOFF);
    jobs = await BullJobQueue.create(options.jobs ?? DEFAULT_JOB_QUEUE_OPTIONS, {
      redis,
      // Blocking commands (BZPOPMIN) must not time out nor give up while Redis is away.
      workerConnection: () => createClient({ ...base, name: `${options.keyPrefix}:jobs-worker` }, { maxRetriesPerRequest: null, commandTimeout: undefined }),
      keyPrefix: options.keyPrefix,
      logger: log,
      bus,
    });
  } catch (err) {
    bus?.close();
    await Promise.all(clients.map(closeClient));
    throw err;
  }
  const docLog = await RedisDocumentLog.start({ redis, reader, keys, logger: log, blockMs, scripts });
  let closed: Promise<void> | null = null;
  return Object.freeze({
    kind: 'redis' as const,
    sessions: new RedisSessionPool(redis, scripts, keys, options.sessionTouchEveryMs),
    usage: new RedisUsagePool(redis, scripts, keys),
    lock: new RedisLeaseLock(scripts, keys),
    tasks: new RedisTaskRegistry(scripts, keys),
    bus: bus!,
    instances: new RedisInstanceRegistry(redis, scripts, keys),
    memberSets: new RedisMemberSets(redis, keys),
    docLog,
    jobs,
    roomMembers: new RedisRoomMembers(redis, keys),
    ping: () => ping(redis),
    close: () => {
      closed ??= (async () => {
        await jobs.close();
        await docLog.close();
        bus!.close();
        await Promise.all(clients.map(closeClient));
      })();
      return closed;
    },
  });
}

async function ping(redis: Redis): Promise<boolean> {
  // Not connected: answer at once instead of waiting in the offline queue.
  if (redis.status !== 'ready') return false;
  try {
    return (await withDeadline(redis.ping(), PING_TIMEOUT_MS)) === 'PONG';
  } catch {
    return false;
  }
}
