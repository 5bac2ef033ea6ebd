import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import { BackendUnavailableError, SwitchyardError, errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';

export interface ConnectionOptions {
  /** `redis://`, `rediss://`, or `redis+sentinel://h1:26379,h2:26379/mymaster[/db]`. */
  readonly url: string;
  /** Shown in logs and CLIENT LIST, e.g. `switchyard:cmd`. */
  readonly name: string;
  readonly logger: Logger;
  /**
   * A command without a reply after this long rejects, so a hung (not refused)
   * connection cannot stall the caller. @default 5_000 // ms
   */
  readonly commandTimeoutMs?: number;
}

/** Longest wait between reconnect attempts. @default 2_000 // ms */
export const RECONNECT_MAX_MS = 2_000;
/** Warn about a failing client at most this often; the rest are counted. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Parses a Sentinel URL into ioredis options: `redis+sentinel://[[user]:pass@]h1:p1,h2:p2/master[/db]`
 * (`rediss+sentinel://` for TLS; `?sentinelPassword=` when the sentinels need their own).
 * Returns null for any other scheme.
 */
export function parseSentinelUrl(url: string): RedisOptions | null {
  const m = /^(rediss?)\+sentinel:\/\/(?:([^@/]*)@)?([^/?]+)(?:\/([^/?]+))?(?:\/(\d+))?\/?(?:\?(.*))?$/.exec(url);
  if (!m) return null;
  const [, scheme, auth, hosts, name, db, query] = m;
  if (!name) throw new RangeError(`Redis Sentinel URL needs a master name after the hosts: ${redact(url)}`);
  const sentinels = hosts.split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host, port: port ? Number(port) : 26379 };
  });
  const options: RedisOptions = { sentinels, name: decodeURIComponent(name) };
  if (auth) {
    const [user, pass] = auth.includes(':') ? auth.split(':', 2) : ['', auth];
    if (user) options.username = decodeURIComponent(user);
    if (pass) options.password = decodeURIComponent(pass);
  }
  if (db) options.db = Number(db);
  const sentinelPassword = new URLSearchParams(query ?? '').get('sentinelPassword');
  if (sentinelPassword) options.sentinelPassword = sentinelPassword;
  if (scheme === 'rediss') {
    options.tls = {};
    options.enableTLSForSentinelMode = true;
  }
  return options;
}

/** Capped exponential backoff with jitter: reconnects never stop, never stampede. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(50 * 2 ** Math.min(attempt, 16), RECONNECT_MAX_MS);
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

/**
 * One ioredis client. It reconnects forever; a command caught in flight by an
 * outage fails after `maxRetriesPerRequest` reconnect attempts instead of queueing
 * without bound, and `commandTimeout` bounds a command on a hung socket.
 */
export function createClient(options: ConnectionOptions, extra: RedisOptions = {}): Redis {
  const base: RedisOptions = {
    connectionName: options.name,
    retryStrategy: reconnectDelay,
    maxRetriesPerRequest: 2,
    // Queue briefly while (re)connecting so a blip costs latency, not errors;
    // maxRetriesPerRequest flushes the queue when the outage lasts.
    enableOfflineQueue: true,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    connectTimeout: 5_000,
    ...extra,
  };
  const sentinel = parseSentinelUrl(options.url);
  const client = sentinel ? new Redis({ ...base, ...sentinel }) : new Redis(options.url, base);
  attachErrorLog(client, options);
  return client;
}

/**
 * Makes the commands one event-loop turn sends on `client` leave as one socket write: the
 * socket is corked at the turn's first command and uncorked once the turn's I/O callbacks
 * have run (setImmediate). ioredis writes every command on its own; on loopback each write
 * is a syscall that also runs Redis's side of TCP (and wakes it), and on the command
 * connection those writes were ~20 % of a task create's CPU in bench:tasks. ioredis'
 * own autopipelining would batch too, but builds a pipeline per batch, which copies every
 * script defined on the client. Order and replies are unchanged: only the syscalls merge.
 */
export function coalesceWrites(client: Redis): void {
  let corked: Redis['stream'] | null = null;
  const uncork = () => {
    const stream = corked;
    corked = null;
    stream?.uncork();
  };
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    // A pipeline passes itself as `stream` and writes its batch at once; commands sent while
    // not connected wait in the offline queue and leave together anyway.
    if (corked === null && stream === undefined && client.status === 'ready') {
      corked = client.stream;
      corked.cork();
      setImmediate(uncork);
    }
    return send(command, stream);
  };
}

/** ioredis emits 'error' on every failed reconnect; without a listener Node would crash. */
function attachErrorLog(client: Redis, options: ConnectionOptions): void {
  let lastLogAt = 0;
  let suppressed = 0;
  client.on('error', (err: unknown) => {
    const now = Date.now();
    if (now - lastLogAt < ERROR_LOG_INTERVAL_MS) {
      suppressed += 1;
      return;
    }
    options.logger.warn({ client: options.name, url: redact(options.url), err: errorMessage(err), suppressed }, 'redis connection error');
    lastLogAt = now;
    suppressed = 0;
  });
}

/** Resolves when the client is ready; rejects after `timeoutMs` or when it ends. */
export async function waitReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () => done(new BackendUnavailableError('redis connection ended before it was ready'));
    const timer = setTimeout(() => done(new BackendUnavailableError(`redis not ready within ${timeoutMs} ms`)), timeoutMs);
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}

/** Quits gracefully when connected, else drops the socket; either way reconnects stop. */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: the connection died while quitting.
    }
  }
  client.disconnect(false);
}

/** While reconnecting, a call fails at once rather than waiting out the retries in the offline queue. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

/**
 * Runs a backend call, turning transport failures (down, refused, closed, timed
 * out, retries exhausted) into BackendUnavailableError. Redis reply errors and our
 * own errors (LeaseLostError) pass through unchanged: they are not outages.
 */
export async function call<T>(client: Redis, op: string, fn: () => Promise<T>): Promise<T> {
  if (DOWN.has(client.status)) throw new BackendUnavailableError(`redis ${op} failed: connection is ${client.status}`);
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SwitchyardError || err instanceof ReplyError) throw err;
    throw new BackendUnavailableError(`redis ${op} failed: ${errorMessage(err)}`, { cause: err });
  }
}

/** EXEC, surfacing the first failed command (ioredis reports them per command, not as a rejection). */
export async function exec(tx: ReturnType<Redis['multi']>): Promise<void> {
  const replies = await tx.exec();
  const failed = replies?.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
}

/** Hides the password of a URL for logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
