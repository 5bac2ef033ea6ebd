import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../../observability/logger.js';
import type { Coordination } from '../ports.js';
import { closeClient, createClient, waitReady } from './connection.js';
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
}

/** ping() gives up after this, so a readiness probe never hangs on a stalled socket. */
const PING_TIMEOUT_MS = 1_000;

/**
 * The cluster backend: two connections per Coordination — commands (and publish)
 * on one, subscriptions on the other, since a subscribed connection can run
 * nothing else. Rejects with BackendUnavailableError when Redis does not answer
 * within `connectTimeoutMs`; after that, outages surface per call and the clients
 * reconnect on their own.
 */
export async function createRedisCoordination(options: RedisCoordinationOptions): Promise<Coordination> {
  const log = options.logger ?? silentLogger();
  const keys = new RedisKeys(options.keyPrefix);
  const base = { url: options.url, logger: log, commandTimeoutMs: options.commandTimeoutMs };
  const redis = createClient({ ...base, name: `${options.keyPrefix}:cmd` });
  // Our own resubscribe (RedisMessageBus) replaces ioredis', which retries nothing and reports nothing.
  const subscriber = createClient({ ...base, name: `${options.keyPrefix}:sub` }, { autoResubscribe: false });
  try {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    await Promise.all([waitReady(redis, timeoutMs), waitReady(subscriber, timeoutMs)]);
  } catch (err) {
    await Promise.all([closeClient(redis), closeClient(subscriber)]);
    throw err;
  }

  const scripts = new Scripts(redis);
  const bus = new RedisMessageBus(redis, subscriber, keys, log, options.busBackoff ?? DEFAULT_BUS_BACKOFF);
  let closed: Promise<void> | null = null;
  return Object.freeze({
    kind: 'redis' as const,
    sessions: new RedisSessionPool(redis, scripts, keys),
    usage: new RedisUsagePool(redis, scripts, keys),
    lock: new RedisLeaseLock(scripts, keys),
    tasks: new RedisTaskRegistry(redis, keys),
    bus,
    instances: new RedisInstanceRegistry(redis, scripts, keys),
    roomMembers: new RedisRoomMembers(redis, keys),
    ping: () => ping(redis),
    close: () => {
      closed ??= (async () => {
        bus.close();
        await Promise.all([closeClient(redis), closeClient(subscriber)]);
      })();
      return closed;
    },
  });
}

async function ping(redis: Redis): Promise<boolean> {
  // Not connected: answer at once instead of waiting in the offline queue.
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), PING_TIMEOUT_MS)));
    const reply = redis.ping();
    reply.catch(() => {}); // a late failure after the timeout won must not go unhandled
    return (await Promise.race([reply, timeout])) === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
