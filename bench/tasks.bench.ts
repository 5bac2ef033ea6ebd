/**
 * bench:tasks — two switchyard instances (in-process runtimes, each with its own Redis
 * connections) on one Redis, with a busy registry (BACKGROUND tasks of other instances):
 *
 *  1. create→complete throughput of no-op tasks on chat items, each create checked
 *     against the item's current owner as `POST /api/tasks` does — switchyard reads the
 *     item's set (`<prefix>:tasks:item:<item>`), the naive way scans the whole registry;
 *  2. cross-instance stop latency (A stops a task running on B, measured until B's task
 *     has exited) — switchyard looks the task up by id, the naive way scans the registry.
 *
 * Both ways run in the same process against the same Redis in the same run.
 * Redis: REDIS_URL, else redis://127.0.0.1:6379. Keys use a random prefix and are deleted after.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/loadConfig.js';
import type { TaskRecord } from '../src/coordination/ports.js';
import { Runtime } from '../src/runtime.js';
import { TASK_COMMANDS_TOPIC, encodeStop, type TaskKind } from '../src/tasks/index.js';
import { fmt, percentile, reportResult } from './lib/results.js';

const BACKGROUND = Number(process.env.TASKS_BENCH_BACKGROUND ?? 10_000);
const CREATES = Number(process.env.TASKS_BENCH_CREATES ?? 2_000);
const CONCURRENCY = 32;
const STOPS = Number(process.env.TASKS_BENCH_STOPS ?? 300);
const ITEMS = 50;
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-${randomUUID().slice(0, 8)}`;

const noop: TaskKind<null> = { name: 'noop', parse: () => null, run: async () => {} };
const wait: TaskKind<null> = {
  name: 'wait',
  parse: () => null,
  run: (ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true })),
};

async function start(): Promise<Runtime> {
  const config = loadConfig(
    {},
    {
      coordination: 'redis',
      redisUrl: url,
      redisKeyPrefix: prefix,
      dataDir: mkdtempSync(join(tmpdir(), 'swy-bench-')),
      jwtSecret: 'bench-secret-0123456789abcdef',
      log: { level: 'error', components: {} },
    },
  );
  const runtime = await Runtime.start(config, { gateway: false });
  runtime.tasks.registerKind(noop).registerKind(wait);
  return runtime;
}

/** Resolves when the task has left the instance (after its registry entries are removed). */
function exitWaiter(runtime: Runtime): (taskId: string) => Promise<void> {
  const waiting = new Map<string, () => void>();
  const done = new Set<string>();
  runtime.tasks.events.on('exit', (e) => {
    const resolve = waiting.get(e.record.taskId);
    if (resolve) resolve();
    else done.add(e.record.taskId);
  });
  return (taskId) =>
    done.delete(taskId)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.set(taskId, () => (waiting.delete(taskId), resolve())));
}

type OwnerCheck = (runtime: Runtime, itemId: string, userId: string) => Promise<boolean>;
const indexedOwnerCheck: OwnerCheck = async (runtime, itemId, userId) => {
  const ids = await runtime.tasks.listByItem(itemId);
  const records = await Promise.all(ids.map((id) => runtime.tasks.find(id)));
  return records.every((r) => r === null || r.ownerId === userId);
};
const scanOwnerCheck: OwnerCheck = async (runtime, itemId, userId) =>
  (await runtime.coordination.tasks.list()).filter((r) => r.itemId === itemId).every((r) => r.ownerId === userId);

async function throughput(a: Runtime, exited: (id: string) => Promise<void>, check: OwnerCheck, count: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const itemId = `chat:bench-${i % ITEMS}`;
      if (!(await check(a, itemId, 'alice'))) throw new Error(`owner check refused ${itemId}`);
      const record = await a.tasks.create({ kind: 'noop', itemId, ownerId: 'alice' });
      await exited(record.taskId);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return count / ((performance.now() - t0) / 1000);
}

type StopWay = (a: Runtime, taskId: string) => Promise<void>;
const indexedStop: StopWay = async (a, taskId) => {
  const r = await a.tasks.stop(taskId);
  if (!r.found) throw new Error(`task ${taskId} not found`);
};
const scanStop: StopWay = async (a, taskId) => {
  const record = (await a.coordination.tasks.list()).find((r) => r.taskId === taskId);
  if (!record) throw new Error(`task ${taskId} not found`);
  await a.coordination.bus.publish(TASK_COMMANDS_TOPIC, encodeStop(taskId));
};

/** A stops tasks running on B one at a time; ms from the stop call until B's task exited. */
async function stopLatencies(a: Runtime, b: Runtime, exitedOnB: (id: string) => Promise<void>, way: StopWay): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < STOPS; i++) {
    const record = await b.tasks.create({ kind: 'wait', itemId: `chat:stop-${i % ITEMS}`, ownerId: 'alice' });
    const t0 = performance.now();
    await way(a, record.taskId);
    await exitedOnB(record.taskId);
    out.push(performance.now() - t0);
  }
  return out.sort((x, y) => x - y);
}

async function fillBackground(a: Runtime): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < BACKGROUND; i++) {
    const record: TaskRecord = {
      taskId: `bg-${i}`,
      itemId: `chat:bg-${i % 2_000}`,
      ownerId: `user-${i % 500}`,
      instanceId: `bg-instance-${i % 8}`,
      kind: 'completion',
      status: 'running',
      createdAt: Date.now(),
    };
    pending.push(a.coordination.tasks.add(record));
    if (pending.length >= 1_000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

async function main(): Promise<void> {
  console.log(`bench:tasks — 2 instances on ${url}; registry with ${BACKGROUND} background tasks; ${CREATES} no-op creates (${CONCURRENCY} concurrent); ${STOPS} cross-instance stops`);
  const a = await start();
  const b = await start();
  const exitedOnA = exitWaiter(a);
  const exitedOnB = exitWaiter(b);
  try {
    await fillBackground(a);
    // Warm-up: connections, actor activation, JIT.
    await throughput(a, exitedOnA, indexedOwnerCheck, CREATES / 4);

    const opsIndexed = await throughput(a, exitedOnA, indexedOwnerCheck, CREATES);
    // A rate, so fewer ops suffice for the slow way (it scans the registry per create).
    const opsNaive = await throughput(a, exitedOnA, scanOwnerCheck, Math.ceil(CREATES / 5));
    console.log(`  create→complete: switchyard ${fmt(opsIndexed)} tasks/s, naive (registry scan) ${fmt(opsNaive)} tasks/s`);

    const stops = await stopLatencies(a, b, exitedOnB, indexedStop);
    const naiveStops = await stopLatencies(a, b, exitedOnB, scanStop);
    const p = (xs: number[], q: number) => Number(percentile(xs, q).toFixed(3));
    console.log(`  cross-instance stop: switchyard p50 ${fmt(p(stops, 50))} ms p99 ${fmt(p(stops, 99))} ms; naive p50 ${fmt(p(naiveStops, 50))} ms p99 ${fmt(p(naiveStops, 99))} ms`);

    const left = (await a.coordination.tasks.list()).filter((r) => !r.taskId.startsWith('bg-')).length;
    if (left !== 0) throw new Error(`${left} bench tasks left in the registry`);

    reportResult(
      'tasks',
      {
        create_complete_per_sec: Math.round(opsIndexed),
        create_complete_per_sec_naive: Math.round(opsNaive),
        create_complete_vs_naive: Number((opsIndexed / opsNaive).toFixed(2)),
        stop_p50_ms: p(stops, 50),
        stop_p99_ms: p(stops, 99),
        stop_p50_ms_naive: p(naiveStops, 50),
        stop_p99_ms_naive: p(naiveStops, 99),
        stop_p50_naive_vs_switchyard: Number((percentile(naiveStops, 50) / percentile(stops, 50)).toFixed(2)),
        background_tasks: BACKGROUND,
      },
      {
        // A chat UI feels a stop within a frame or two; 2 cores, shared with Redis and both instances.
        stop_p99_ms: { max: 25 },
        // Enough for hundreds of concurrent generations starting per second on one instance.
        create_complete_per_sec: { min: 500 },
        // The point of the indexes: a busy registry must not slow every create and stop down.
        create_complete_vs_naive: { min: 3 },
        stop_p50_naive_vs_switchyard: { min: 3 },
      },
    );
  } finally {
    await Promise.all([a.stop('bench done'), b.stop('bench done')]);
    const redis = new Redis(url);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
