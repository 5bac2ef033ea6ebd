import { setTimeout as sleep } from 'node:timers/promises';
import { TokenService } from '../src/auth/tokens.js';
import type { Role } from '../src/coordination/ports.js';
import type { Runtime } from '../src/runtime.js';
import type { TaskExit, TaskKind } from '../src/tasks/index.js';
import type { RedisServer } from './helpers/redis.js';
import { FAST_PRESENCE, TEST_SECRET } from './helpers/runtime.js';

/** Shared by the task test files: a test task kind, REST calls, exit recording. */

/**
 * `wait`: runs until stopped, or for `ms` when given, then completes. `hang` ignores
 * its signal entirely (to prove an abort ends the task anyway).
 */
export function waitKind(name = 'wait', timeoutMs?: number): TaskKind<{ ms: number | null; fail?: string }> {
  return {
    name,
    timeoutMs,
    parse(input) {
      const o = (input ?? {}) as { ms?: unknown; fail?: unknown };
      return { ms: typeof o.ms === 'number' ? o.ms : null, fail: typeof o.fail === 'string' ? o.fail : undefined };
    },
    async run(ctx) {
      if (ctx.input.fail) throw new Error(ctx.input.fail);
      if (name === 'hang') return new Promise<void>(() => {});
      if (ctx.input.ms !== null) {
        await sleep(ctx.input.ms, undefined, { signal: ctx.signal }).catch(() => {});
        return;
      }
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  };
}

const tokens = new TokenService(TEST_SECRET);
export const tokenFor = (sub: string, role: Role = 'user') => tokens.sign({ sub, role });

export interface ApiReply {
  readonly status: number;
  readonly body: any;
  /** Response headers (lower-case names); not enumerable, so whole-reply deepEquals compare status and body only. */
  readonly headers: Headers;
}

/** One REST call to a runtime's gateway, with a bounded wait. */
export async function api(runtime: Runtime, method: string, path: string, user: string | null, body?: unknown, role: Role = 'user'): Promise<ApiReply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (user) headers.authorization = `Bearer ${await tokenFor(user, role)}`;
  const res = await fetch(`http://127.0.0.1:${runtime.port}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const reply = { status: res.status, body: text ? JSON.parse(text) : null };
  Object.defineProperty(reply, 'headers', { value: res.headers, enumerable: false });
  return reply as ApiReply;
}

/** Every task exit of a runtime, in order. */
export function recordExits(runtime: Runtime): TaskExit[] {
  const exits: TaskExit[] = [];
  runtime.tasks.events.on('exit', (e) => exits.push(e));
  return exits;
}

/** Runtime overrides of an instance in a Redis cluster test: shared prefix, fast presence and heartbeats. */
export const clusterConfig = (server: RedisServer, prefix: string, extra: Record<string, unknown> = {}) => ({
  coordination: 'redis',
  redisUrl: server.url,
  redisKeyPrefix: prefix,
  presence: FAST_PRESENCE,
  instances: { heartbeatMs: 100, ttlMs: 500 },
  log: { level: 'warn', components: {} },
  ...extra,
});
