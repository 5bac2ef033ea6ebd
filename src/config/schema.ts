import { z } from 'zod';

const level = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const ms = (min: number) => z.number().int().min(min);

/**
 * The whole configuration. Defaults live in config/default.json (documented in the
 * README table); this schema is the rule each value must meet. Units are in the names.
 */
export const ConfigSchema = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65_535),
    dataDir: z.string().min(1),
    /** HS256 secret; null → a random one is generated at start (and logged as such, never its value). */
    jwtSecret: z.string().min(16).nullable(),
    coordination: z.enum(['memory', 'redis']),
    redisUrl: z
      .string()
      .regex(/^(rediss?|redis\+sentinel):\/\//, 'must start with redis://, rediss:// or redis+sentinel://')
      .nullable(),
    /** Durable store: embedded SQLite under dataDir, or PostgreSQL + pgvector at databaseUrl (several machines). */
    storage: z.enum(['sqlite', 'postgres']),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .nullable(),
    postgres: z.strictObject({
      /** Connections per instance. */
      poolSize: z.number().int().min(1).max(1_000),
      /** pgvector hnsw.ef_search: HNSW candidates per query (recall vs latency). */
      efSearch: z.number().int().min(1).max(1_000),
      /** Schema for switchyard's tables; null = the server's search_path. */
      schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _').nullable(),
    }),
    redisKeyPrefix: z.string().min(1).regex(/^[A-Za-z0-9_.:{}-]+$/, 'letters, digits and _.:{}- only'),
    instanceId: z.string().min(1).nullable(),
    log: z.strictObject({
      level,
      /** Per-component levels: gateway, actors, presence, coordination, docs, tasks, ingest. */
      components: z.record(z.string(), level),
    }),
    presence: z.strictObject({
      /** TIMEOUT_DURATION: a usage entry not refreshed for this long is removed; also the sweep period. */
      usageTimeoutMs: ms(100),
      /** A session not seen for this long is removed. */
      sessionTimeoutMs: ms(1_000),
      /** WEBSOCKET_REDIS_LOCK_TIMEOUT: TTL of the cleanup lease. */
      lockTimeoutMs: ms(500),
      /** While not leader, try to take the lease this often (± jitter). */
      lockRetryMs: ms(50),
      /** Entries removed per sweep call, so one sweep never blocks Redis for long. */
      sweepBatch: z.number().int().min(1).max(100_000),
    }),
    instances: z.strictObject({
      heartbeatMs: ms(50),
      ttlMs: ms(150),
    }),
    actors: z.strictObject({
      idleTimeoutMs: ms(0),
      mailboxCapacity: z.number().int().min(1),
    }),
    gateway: z.strictObject({
      /** Largest event-socket frame; bigger ones close that socket with MESSAGE_TOO_BIG. */
      eventMaxPayloadBytes: z.number().int().min(1_024).max(16 * 1024 * 1024),
      /** Largest document-socket frame (Yjs updates can be large). */
      docMaxPayloadBytes: z.number().int().min(1_024).max(256 * 1024 * 1024),
      /** Largest REST body. */
      maxBodyBytes: z.number().int().min(1_024),
      /** Seconds without any frame (uWS pings keep healthy clients alive) before a socket is closed. */
      idleTimeoutSec: z.number().int().min(8).max(960),
      /** Bytes queued for a slow socket before it is closed (never silently dropped). */
      maxBackpressureBytes: z.number().int().min(1_024),
      /** Token bucket per connection: sustained messages per second and burst. */
      messagesPerSecond: z.number().min(1),
      messageBurst: z.number().int().min(1),
      /** Rejected (over-rate) messages in a row before the socket is closed with RATE_LIMITED. */
      maxRateViolations: z.number().int().min(1),
      /** Token bucket per remote IP for WebSocket upgrades. */
      upgradesPerSecondPerIp: z.number().min(0.1),
      upgradeBurstPerIp: z.number().int().min(1),
      /** Start even when uWebSockets.js fell back to its slow JS implementation. */
      allowUwsFallback: z.boolean(),
      /** Socket.IO dialect: Engine.IO ping period; a socket that missed the previous ping is closed. */
      socketioPingIntervalMs: ms(1_000),
      /** Socket.IO dialect: announced to clients (they close after pingInterval + pingTimeout without a ping). */
      socketioPingTimeoutMs: ms(1_000),
      /** Socket.IO dialect: a socket that has not connected the namespace within this is closed. */
      socketioConnectTimeoutMs: ms(1_000),
      /** Socket.IO dialect: largest frame (note states travel as JSON byte arrays, ~4 bytes per byte). */
      socketioMaxPayloadBytes: z.number().int().min(1_024).max(64 * 1024 * 1024),
    }),
    rooms: z.strictObject({
      /** Let any signed-in user join any chat:/channel: room (single-tenant setups); false = members only (set through /api/rooms). */
      open: z.boolean(),
    }),
    limits: z.strictObject({
      /** Open event sockets (`/ws` + Socket.IO) one user may have on one instance; one more is refused (429 / connect_error SWY_QUOTA_EXCEEDED). */
      socketsPerUser: z.number().int().min(1).max(100_000),
      /** Rooms one socket may be in (its user room and note documents included): each new room may be a Redis SUBSCRIBE. */
      roomsPerSocket: z.number().int().min(2).max(100_000),
      /** REST token bucket per signed-in user: requests per second (0 = off) and burst. */
      restPerSecondPerUser: z.number().min(0),
      restBurstPerUser: z.number().int().min(1),
      /** REST token bucket per remote IP, checked before the token (0 = off); routes without auth (health, metrics) are exempt. */
      restPerSecondPerIp: z.number().min(0),
      restBurstPerIp: z.number().int().min(1),
      /** Uploads (`POST /api/files`) one user may start per window, and their bytes. */
      uploadsPerUser: z.number().int().min(1),
      uploadBytesPerUser: z.number().int().min(1_024),
      uploadWindowMs: ms(1_000),
      /** Documents one user may own (`POST /api/docs`). */
      docsPerUser: z.number().int().min(1),
    }),
    tasks: z.strictObject({
      /** A task running longer than this is aborted and reported failed (SWY_TASK_TIMEOUT). */
      timeoutMs: ms(10),
      /** Running tasks one user may have, every instance together; one more is refused with SWY_QUOTA_EXCEEDED (429). */
      maxPerUser: z.number().int().min(1).max(100_000),
      completion: z.strictObject({
        /** OpenAI-compatible API root; `/chat/completions` is appended, e.g. `https://api.openai.com/v1`. */
        baseUrl: z.string().regex(/^https?:\/\//, 'must start with http:// or https://'),
        /** Bearer key for the upstream (OPENAI_API_KEY); null sends none. Never logged. */
        apiKey: z.string().nullable(),
        /** Model used when a task's input names none. */
        model: z.string().min(1),
        /** Retries of a transient upstream error (network, 5xx, 429) before the first token. */
        maxRetries: z.number().int().min(0).max(20),
        /** First retry delay; doubles per attempt with jitter, capped at maxBackoffMs (Retry-After wins when given). */
        minBackoffMs: ms(1),
        maxBackoffMs: ms(1),
        /** Cap on `max_tokens`: sent when the input names none; a larger request is refused (SWY_BAD_REQUEST). */
        maxTokens: z.number().int().min(1).max(10_000_000),
        /** Models a task's input may name besides `model` (always allowed); `"*"` allows any. */
        allowedModels: z.array(z.string().min(1)),
      }),
    }),
    ingest: z.strictObject({
      /** Largest upload (and extracted file), bytes. */
      maxFileBytes: z.number().int().min(1_024),
      /** Most PDF pages per file. */
      maxPages: z.number().int().min(1),
      /** DOCX: most uncompressed bytes of the archive's entries, declared and actual (zip bombs). */
      maxInflatedBytes: z.number().int().min(1_024),
      /** One extraction's budget in its pool thread; past it the thread is terminated and the file fails permanently. */
      extractTimeoutMs: ms(100),
      /** CHUNK_SIZE: most tokens per chunk (gpt-tokenizer counts). */
      chunkTokens: z.number().int().min(16).max(8_192),
      /** CHUNK_OVERLAP: tokens repeated from the previous chunk. */
      chunkOverlapTokens: z.number().int().min(0),
      /** Jobs one instance runs at once. */
      concurrency: z.number().int().min(1).max(256),
      /** JOB_TIMEOUT: one attempt's limit; on expiry its pool work is aborted and the job retried. */
      jobTimeoutMs: ms(100),
      /** JOB_MAX_RETRIES: retries of transient failures after the first attempt. */
      jobMaxRetries: z.number().int().min(0).max(100),
      /** First retry delay; doubles per attempt with jitter. */
      retryBaseMs: ms(1),
      /** Retry delay cap (also caps Retry-After). */
      retryMaxMs: ms(1).max(30_000),
      /** JOB_RESULT_TTL: finished job records are kept this long. */
      jobResultTtlMs: ms(1_000),
      /** JOB_FAILURE_TTL: failed / canceled job records are kept this long. */
      jobFailureTtlMs: ms(1_000),
      /** A running job's lease; a worker silent this long is dead and its job is recovered. */
      leaseMs: ms(200),
      /** How often unfinished files without a live job are re-enqueued. */
      reconcileIntervalMs: ms(100),
      /** Keep a file's upload bytes until the file is deleted (`keep`), or delete them once its job finished. */
      uploadRetention: z.enum(['keep', 'delete-when-finished']),
      /** Encrypts stored per-user embedding keys (≥ 32 characters); null = a random key in DATA_DIR/.kek. Never logged. */
      keyEncryptionKey: z.string().min(32).nullable(),
      /** Earlier key-encryption keys, tried on read; keys they open are re-encrypted with the current one. Never logged. */
      previousKeyEncryptionKeys: z.array(z.string().min(32)).max(16),
      embedding: z.strictObject({
        /** `local` (USE lite, offline), `openai` (OpenAI-compatible HTTP) or `hash` (lexical, for tests). */
        provider: z.enum(['local', 'openai', 'hash']),
        /** openai: API root, e.g. `https://api.openai.com/v1`. */
        baseUrl: z.string().regex(/^https?:\/\//, 'must start with http:// or https://').nullable(),
        /** openai: embedding model name. */
        model: z.string().min(1).nullable(),
        /** Server-wide key for users without their own (EMBEDDING_API_KEY). Never logged. */
        apiKey: z.string().min(1).nullable(),
        /** EMBEDDING_BATCH_SIZE: texts per embedding batch. */
        batchSize: z.number().int().min(1).max(2_048),
        /** How long a partial batch waits for texts from other jobs. */
        batchMaxWaitMs: ms(0),
      }),
    }),
    docs: z.strictObject({
      /** Save a document this long after its last change. */
      persistDebounceMs: ms(0),
      /** …but no later than this after its first unsaved change (bounds what a SIGKILL can lose). */
      persistMaxWaitMs: ms(1),
      /** TTL of the per-document writer lease (one writer per document across the cluster). */
      persistLeaseTtlMs: ms(500),
      /** A document with no sockets unloads after this long (Y.Doc and Awareness destroyed). */
      unloadGraceMs: ms(10),
      /**
       * Updates relayed to a busy document's sockets within this long of the last one
       * published are published together, one write per socket (0: every update at once).
       */
      relayWindowMs: z.number().int().min(0).max(100),
      /**
       * …and a window that ended holding updates is followed by one this long (rounded to
       * whole relayWindowMs): a busy document's updates go out together, one write per socket.
       */
      relayBusyWindowMs: z.number().int().min(0).max(100),
      /** Queued messages per document before its sockets are closed as overloaded. */
      mailboxCapacity: z.number().int().min(16),
      /** …and queued frame bytes per document (frames are up to gateway.docMaxPayloadBytes each). */
      mailboxMaxBytes: z.number().int().min(1_048_576),
      /**
       * Largest awareness frame a `/doc` socket may send, bytes; larger ones are refused
       * for that socket (they would be relayed to every member and republished on Redis).
       */
      maxAwarenessBytes: z.number().int().min(1_024),
      /** Largest a document may grow to, bytes of encoded Yjs state; larger client updates are refused. */
      maxDocumentBytes: z.number().int().min(65_536),
      /** Per-`/doc`-socket token bucket: frames per second, and the burst above it. */
      messagesPerSecond: z.number().int().min(1),
      messageBurst: z.number().int().min(1),
    }),
    shutdownTimeoutMs: ms(100),
    threadPoolSize: z.number().int().min(0).max(256),
    pool: z.strictObject({
      /** Threads reserved for short interactive work (Yjs merges of document loads); 0 = share the bulk threads. */
      interactiveThreads: z.number().int().min(0).max(16),
      /** V8 old-generation limit per pool thread: a task past it ends its thread, never the process. */
      maxOldGenerationSizeMb: z.number().int().min(64).max(65_536),
      /** V8 young-generation limit per pool thread. */
      maxYoungGenerationSizeMb: z.number().int().min(1).max(1_024),
    }),
  })
  .superRefine((c, ctx) => {
    if (c.docs.persistMaxWaitMs < c.docs.persistDebounceMs) {
      ctx.addIssue({ code: 'custom', path: ['docs', 'persistMaxWaitMs'], message: 'must be at least docs.persistDebounceMs' });
    }
    if (c.ingest.embedding.provider === 'openai' && (!c.ingest.embedding.baseUrl || !c.ingest.embedding.model)) {
      ctx.addIssue({ code: 'custom', path: ['ingest', 'embedding', 'model'], message: 'the openai provider needs ingest.embedding.baseUrl and ingest.embedding.model' });
    }
    if (c.ingest.maxInflatedBytes * 4 > c.pool.maxOldGenerationSizeMb * 1024 * 1024) {
      // A part that large becomes one string in the thread: allocated at once past the heap
      // limit, V8 aborts the whole process instead of ending the thread (measured: 300 MiB, 128 MiB heap).
      ctx.addIssue({ code: 'custom', path: ['ingest', 'maxInflatedBytes'], message: 'must be at most a quarter of pool.maxOldGenerationSizeMb (in bytes)' });
    }
    if (c.ingest.chunkOverlapTokens >= c.ingest.chunkTokens) {
      ctx.addIssue({ code: 'custom', path: ['ingest', 'chunkOverlapTokens'], message: 'must be less than ingest.chunkTokens' });
    }
    if (c.storage === 'postgres' && !c.databaseUrl) {
      ctx.addIssue({ code: 'custom', path: ['databaseUrl'], message: 'is required when storage is "postgres"' });
    }
    if (c.coordination === 'redis' && !c.redisUrl) {
      ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: 'is required when coordination is "redis"' });
    }
    if (c.instances.ttlMs <= c.instances.heartbeatMs) {
      ctx.addIssue({ code: 'custom', path: ['instances', 'ttlMs'], message: 'must be greater than instances.heartbeatMs' });
    }
    if (c.presence.lockTimeoutMs <= c.presence.usageTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['presence', 'lockTimeoutMs'],
        message: 'must be greater than presence.usageTimeoutMs (the lease is renewed once per sweep period)',
      });
    }
  });

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
