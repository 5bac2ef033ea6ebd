import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { collectSecrets, redactValue, scrub } from './redact.js';
import { ConfigSchema, type Config } from './schema.js';

const DEFAULT_FILE = new URL('../../../config/default.json', import.meta.url);

type Parse = (raw: string) => unknown;
const asString: Parse = (raw) => raw;
const asInt: Parse = (raw) => (/^-?\d+$/.test(raw.trim()) ? Number(raw) : raw);
const asBool: Parse = (raw) => (/^(1|true|yes)$/i.test(raw) ? true : /^(0|false|no)$/i.test(raw) ? false : raw);
/** A comma-separated list, blanks dropped: `a, b` → ['a', 'b']; empty → []. */
const asList: Parse = (raw) => raw.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
/** Names inherited from the original system are in seconds; the config is in ms. */
const secondsToMs: Parse = (raw) => (/^\d+(\.\d+)?$/.test(raw.trim()) ? Math.round(Number(raw) * 1000) : raw);

/** Environment variable → config path. Original-system names keep their meaning (and unit). */
const ENV: ReadonlyArray<readonly [string, string, Parse]> = [
  ['HOST', 'host', asString],
  ['PORT', 'port', asInt],
  ['DATA_DIR', 'dataDir', asString],
  ['WEBUI_SECRET_KEY', 'jwtSecret', asString],
  ['JWT_SECRET', 'jwtSecret', asString], // wins over its alias when both are set
  ['COORDINATION', 'coordination', asString],
  ['REDIS_URL', 'redisUrl', asString],
  ['REDIS_KEY_PREFIX', 'redisKeyPrefix', asString],
  ['STORAGE', 'storage', asString],
  ['DATABASE_URL', 'databaseUrl', asString],
  ['DATABASE_POOL_SIZE', 'postgres.poolSize', asInt],
  ['PGVECTOR_EF_SEARCH', 'postgres.efSearch', asInt],
  ['DATABASE_SCHEMA', 'postgres.schema', asString],
  ['INSTANCE_ID', 'instanceId', asString],
  ['LOG_LEVEL', 'log.level', asString],
  ['TIMEOUT_DURATION', 'presence.usageTimeoutMs', secondsToMs],
  ['SESSION_TIMEOUT', 'presence.sessionTimeoutMs', secondsToMs],
  ['WEBSOCKET_REDIS_LOCK_TIMEOUT', 'presence.lockTimeoutMs', secondsToMs],
  ['CLEANUP_RETRY_INTERVAL_MS', 'presence.lockRetryMs', asInt],
  ['INSTANCE_HEARTBEAT_MS', 'instances.heartbeatMs', asInt],
  ['INSTANCE_TTL_MS', 'instances.ttlMs', asInt],
  ['ACTOR_IDLE_TIMEOUT_MS', 'actors.idleTimeoutMs', asInt],
  ['ACTOR_MAILBOX_CAPACITY', 'actors.mailboxCapacity', asInt],
  ['WS_MAX_PAYLOAD_BYTES', 'gateway.eventMaxPayloadBytes', asInt],
  ['DOC_MAX_PAYLOAD_BYTES', 'gateway.docMaxPayloadBytes', asInt],
  ['MAX_BODY_BYTES', 'gateway.maxBodyBytes', asInt],
  ['WS_IDLE_TIMEOUT', 'gateway.idleTimeoutSec', asInt],
  ['WS_MAX_BACKPRESSURE_BYTES', 'gateway.maxBackpressureBytes', asInt],
  ['WS_MESSAGES_PER_SECOND', 'gateway.messagesPerSecond', asInt],
  ['WS_MESSAGE_BURST', 'gateway.messageBurst', asInt],
  ['WS_UPGRADES_PER_SECOND_PER_IP', 'gateway.upgradesPerSecondPerIp', asInt],
  ['SWITCHYARD_ALLOW_UWS_FALLBACK', 'gateway.allowUwsFallback', asBool],
  ['SOCKETIO_PING_INTERVAL_MS', 'gateway.socketioPingIntervalMs', asInt],
  ['SOCKETIO_PING_TIMEOUT_MS', 'gateway.socketioPingTimeoutMs', asInt],
  ['SOCKETIO_CONNECT_TIMEOUT_MS', 'gateway.socketioConnectTimeoutMs', asInt],
  ['SOCKETIO_MAX_PAYLOAD_BYTES', 'gateway.socketioMaxPayloadBytes', asInt],
  ['ROOMS_OPEN', 'rooms.open', asBool],
  ['LIMIT_SOCKETS_PER_USER', 'limits.socketsPerUser', asInt],
  ['LIMIT_ROOMS_PER_SOCKET', 'limits.roomsPerSocket', asInt],
  ['LIMIT_REST_PER_SECOND_PER_USER', 'limits.restPerSecondPerUser', asInt],
  ['LIMIT_REST_BURST_PER_USER', 'limits.restBurstPerUser', asInt],
  ['LIMIT_REST_PER_SECOND_PER_IP', 'limits.restPerSecondPerIp', asInt],
  ['LIMIT_REST_BURST_PER_IP', 'limits.restBurstPerIp', asInt],
  ['LIMIT_UPLOADS_PER_USER', 'limits.uploadsPerUser', asInt],
  ['LIMIT_UPLOAD_BYTES_PER_USER', 'limits.uploadBytesPerUser', asInt],
  ['LIMIT_UPLOAD_WINDOW_MS', 'limits.uploadWindowMs', asInt],
  ['LIMIT_DOCS_PER_USER', 'limits.docsPerUser', asInt],
  ['TASK_TIMEOUT_MS', 'tasks.timeoutMs', asInt],
  ['OPENAI_API_BASE_URL', 'tasks.completion.baseUrl', asString],
  ['OPENAI_API_KEY', 'tasks.completion.apiKey', asString],
  ['TASK_COMPLETION_MODEL', 'tasks.completion.model', asString],
  ['TASK_COMPLETION_MAX_RETRIES', 'tasks.completion.maxRetries', asInt],
  ['TASKS_MAX_PER_USER', 'tasks.maxPerUser', asInt],
  ['TASK_COMPLETION_MAX_TOKENS', 'tasks.completion.maxTokens', asInt],
  ['TASK_COMPLETION_ALLOWED_MODELS', 'tasks.completion.allowedModels', asList],
  ['INGEST_MAX_FILE_BYTES', 'ingest.maxFileBytes', asInt],
  ['INGEST_MAX_PAGES', 'ingest.maxPages', asInt],
  ['INGEST_MAX_INFLATED_BYTES', 'ingest.maxInflatedBytes', asInt],
  ['INGEST_EXTRACT_TIMEOUT_MS', 'ingest.extractTimeoutMs', asInt],
  ['INGEST_KEY_ENCRYPTION_KEY', 'ingest.keyEncryptionKey', asString],
  ['INGEST_PREVIOUS_KEY_ENCRYPTION_KEYS', 'ingest.previousKeyEncryptionKeys', asList],
  ['CHUNK_SIZE', 'ingest.chunkTokens', asInt],
  ['CHUNK_OVERLAP', 'ingest.chunkOverlapTokens', asInt],
  ['INGEST_CONCURRENCY', 'ingest.concurrency', asInt],
  ['JOB_TIMEOUT', 'ingest.jobTimeoutMs', secondsToMs],
  ['JOB_MAX_RETRIES', 'ingest.jobMaxRetries', asInt],
  ['JOB_RESULT_TTL', 'ingest.jobResultTtlMs', secondsToMs],
  ['JOB_FAILURE_TTL', 'ingest.jobFailureTtlMs', secondsToMs],
  ['JOB_LEASE_MS', 'ingest.leaseMs', asInt],
  ['INGEST_RECONCILE_INTERVAL_MS', 'ingest.reconcileIntervalMs', asInt],
  ['UPLOAD_RETENTION', 'ingest.uploadRetention', asString],
  ['EMBEDDING_PROVIDER', 'ingest.embedding.provider', asString],
  ['EMBEDDING_BASE_URL', 'ingest.embedding.baseUrl', asString],
  ['EMBEDDING_MODEL', 'ingest.embedding.model', asString],
  ['EMBEDDING_API_KEY', 'ingest.embedding.apiKey', asString],
  ['EMBEDDING_BATCH_SIZE', 'ingest.embedding.batchSize', asInt],
  ['EMBEDDING_BATCH_MAX_WAIT_MS', 'ingest.embedding.batchMaxWaitMs', asInt],
  ['DOC_PERSIST_DEBOUNCE_MS', 'docs.persistDebounceMs', asInt],
  ['DOC_PERSIST_MAX_WAIT_MS', 'docs.persistMaxWaitMs', asInt],
  ['DOC_UNLOAD_GRACE_MS', 'docs.unloadGraceMs', asInt],
  ['SHUTDOWN_TIMEOUT_MS', 'shutdownTimeoutMs', asInt],
  ['THREAD_POOL_SIZE', 'threadPoolSize', asInt],
  ['THREAD_POOL_INTERACTIVE_THREADS', 'pool.interactiveThreads', asInt],
  ['THREAD_MAX_OLD_GENERATION_MB', 'pool.maxOldGenerationSizeMb', asInt],
  ['THREAD_MAX_YOUNG_GENERATION_MB', 'pool.maxYoungGenerationSizeMb', asInt],
];

const COMPONENT_LEVEL = /^LOG_LEVEL_([A-Z]+)$/;

export type Env = Readonly<Record<string, string | undefined>>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isObject(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function getPath(source: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let node = source;
  for (const part of path) node = isObject(node) ? node[part as string] : undefined;
  return node;
}

function readJson(file: string | URL, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${String(file)}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) throw new Error('the top level must be an object');
    return parsed;
  } catch (err) {
    // V8 quotes an excerpt of the text ('…, "{"jwtSecret": …" is not valid JSON'): keep only the position.
    const reason = (err as Error).message.replace(/,\s*(\.\.\.)?".*"(\.\.\.)?\s+is not valid JSON/s, '').replace(/ in JSON at position/, ' at position');
    throw new ConfigError(`${what} ${String(file)} is not valid JSON: ${reason}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (isObject(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Which env variable (if any) supplied a config path, to name it in errors. */
function envNameFor(path: string, env: Env): string | undefined {
  const hits = ENV.filter(([name, p]) => p === path && env[name] !== undefined).map(([name]) => name);
  return hits[hits.length - 1];
}

/**
 * Loads config/default.json, then the file named by SWITCHYARD_CONFIG, then the
 * environment; validates once and returns a frozen object. A bad value throws a
 * ConfigError naming the key, the value and the rule — secret values redacted (redact.ts).
 */
export function loadConfig(env: Env = process.env, overrides: Record<string, unknown> = {}): Config {
  let raw = readJson(DEFAULT_FILE, 'default config');
  if (env.SWITCHYARD_CONFIG) raw = merge(raw, readJson(env.SWITCHYARD_CONFIG, 'config file (SWITCHYARD_CONFIG)'));

  const fromEnv: Record<string, unknown> = {};
  for (const [name, path, parse] of ENV) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(fromEnv, path, parse(value));
  }
  for (const [name, value] of Object.entries(env)) {
    const m = COMPONENT_LEVEL.exec(name);
    if (m && value) setPath(fromEnv, `log.components.${m[1]!.toLowerCase()}`, value);
  }
  // A Redis URL alone means cluster mode unless the operator chose memory explicitly.
  if (fromEnv.redisUrl && env.COORDINATION === undefined && raw.coordination === 'memory') fromEnv.coordination = 'redis';
  // Likewise a database URL alone means PostgreSQL storage.
  if (fromEnv.databaseUrl && env.STORAGE === undefined && raw.storage === 'sqlite') fromEnv.storage = 'postgres';
  raw = merge(merge(raw, fromEnv), overrides);

  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const via = envNameFor(key, env);
      const value = redactValue(key, getPath(raw, issue.path));
      return `${key || '(root)'}${via ? ` (from ${via})` : ''} = ${JSON.stringify(value)}: ${issue.message}`;
    });
    // Second net: a rule's message may quote the input (zod's enum messages do).
    throw new ConfigError(scrub(`invalid configuration:\n  ${lines.join('\n  ')}`, collectSecrets(raw, env)));
  }
  return deepFreeze(result.data);
}
