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
    }),
    shutdownTimeoutMs: ms(100),
    threadPoolSize: z.number().int().min(0).max(256),
  })
  .superRefine((c, ctx) => {
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
