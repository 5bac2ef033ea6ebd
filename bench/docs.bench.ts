/**
 * `npm run bench:docs` — Yjs collaboration at a fixed load, then stepped up to saturation,
 * for every server a user would pick, each in its own process, in the same run:
 *   switchyard `/doc` (memory; Redis; two instances on Redis with each document's clients
 *   split across them), y-websocket 1.5's reference server (`bin/server.js`), Hocuspocus 3.4
 *   (stock Server; two instances with @hocuspocus/extension-redis).
 * Load: DOCS documents × CLIENTS stock clients (y-websocket's WebsocketProvider, or
 * HocuspocusProvider for Hocuspocus) in two load processes; one small edit per client every
 * 50 ms; every other client of the document must observe each edit (an update delivered).
 * Per server: delivered updates/s, server CPU-seconds (/proc/<pid>/stat, all instances),
 * delivered per CPU-second, end-to-end p50/p99 (send time carried in the edit), then the
 * interval halved step by step until p99 > 250 ms or < 90 % delivered; replicas compared at the end.
 * Targets (issues 10, 14): memory ≥ 3× y-websocket and ≥ 2× Hocuspocus per CPU-second, p99 ≤ both,
 * memory ≥ Redis mode per CPU-second, no divergent replica.
 * `--quick`: short phases, one step (validation only). --profile or BENCH_PROFILE=1 (bench/lib/profile.ts): --cpu-prof per server.
 * Knobs (env): DOCS_BENCH_DOCS (20), DOCS_BENCH_CLIENTS (10), DOCS_BENCH_ONLY=switchyard_memory,ywebsocket (no verdict),
 *   DOCS_BENCH_FIXED_MS (the fixed phase's length), DOCS_BENCH_SWITCHYARD_CONFIG='{"docs":{"relayWindowMs":16}}' (switchyard config merged over the defaults),
 *   DOCS_BENCH_SERVER_NODE_OPTIONS (node flags for the servers, e.g. --perf-basic-prof), DOCS_BENCH_SERVER_STDOUT (a file the servers' stdout is copied to),
 *   DOCS_BENCH_LOAD_NODE_OPTIONS (node flags for the load processes, e.g. --cpu-prof --cpu-prof-dir=/tmp/load).
 */
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenService } from '../src/auth/tokens.js';
import type { ConvergeReport, ClientKind, LoadRequest, PhaseReport } from './docs/load.js';
import { startDocsServer, type DocsServer, type DocsServerKind } from './docs/servers.js';
import { profileDir, profilingRequested, topSelfTime } from './lib/profile.js';
import { Histogram } from './lib/histogram.js';
import { startBenchRedis, type BenchRedis } from './lib/redisServer.js';
import { fmt, reportResult, type Chart, type Target } from './lib/results.js';
import { RpcChild } from './lib/rpc.js';
import { cpuSeconds, MachineMeter } from './ws/procStats.js';

const QUICK = process.argv.includes('--quick') || process.env.DOCS_BENCH_QUICK === '1';
const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DOCS = int('DOCS_BENCH_DOCS', 20);
const CLIENTS = int('DOCS_BENCH_CLIENTS', 10);
const LOAD_PROCESSES = 2;
const BASE_INTERVAL_MS = 50;
const WARMUP_MS = QUICK ? 1_000 : 2_000;
const FIXED_MS = int('DOCS_BENCH_FIXED_MS', QUICK ? 4_000 : 15_000);
const STEP_MS = QUICK ? 3_000 : 8_000;
/** Edit interval per step (ms): offered load doubles each step. */
const STEPS = QUICK ? [25] : [25, 12.5, 6.25, 3.125];
const DRAIN_MS = 3_000;
const CONVERGE_MS = 10_000;
/** Saturation: the tail a typing user notices, or a server that stops keeping up. */
const SATURATED_P99_MS = 250;
const SATURATED_DELIVERED = 0.9;
const SECRET = 'bench-secret-0123456789abcdef';
const CORES = availableParallelism();

interface Row {
  readonly id: string;
  readonly label: string;
  /** For the chart's 200-pixel label column. */
  readonly short: string;
  readonly server: DocsServerKind;
  readonly instances: number;
  readonly redis: boolean;
  readonly client: ClientKind;
}

const ROWS: readonly Row[] = [
  { id: 'switchyard_memory', short: 'switchyard memory', label: 'switchyard /doc (memory)', server: 'switchyard', instances: 1, redis: false, client: 'yjs-websocket' },
  { id: 'switchyard_redis', short: 'switchyard Redis', label: 'switchyard /doc (Redis)', server: 'switchyard', instances: 1, redis: true, client: 'yjs-websocket' },
  { id: 'switchyard_redis2', short: 'switchyard Redis ×2', label: 'switchyard /doc (Redis, 2 instances)', server: 'switchyard', instances: 2, redis: true, client: 'yjs-websocket' },
  { id: 'ywebsocket', short: 'y-websocket 1.5', label: 'y-websocket 1.5 bin/server.js', server: 'ywebsocket', instances: 1, redis: false, client: 'yjs-websocket' },
  { id: 'hocuspocus', short: 'Hocuspocus 3.4', label: 'Hocuspocus 3.4', server: 'hocuspocus', instances: 1, redis: false, client: 'hocuspocus' },
  { id: 'hocuspocus_redis2', short: 'Hocuspocus Redis ×2', label: 'Hocuspocus 3.4 + extension-redis, 2 instances', server: 'hocuspocus', instances: 2, redis: true, client: 'hocuspocus' },
];
const ONLY = process.env.DOCS_BENCH_ONLY?.split(',');

interface Phase {
  readonly offeredEditsPerSec: number;
  /** The send window; deliveries of its edits may land in the drain after it. */
  readonly windowS: number;
  /** Window + drain: what the CPU figures cover. */
  readonly seconds: number;
  readonly sent: number;
  readonly expected: number;
  readonly delivered: number;
  readonly p50: number;
  readonly p99: number;
  readonly serverCpuS: number;
  readonly redisCpuS: number;
  /** % of one core, per load process (the busiest): near 100 means the load, not the server, was the limit. */
  readonly loadCpuPct: number;
  readonly disconnects: number;
  /** CPU of everything else on the machine (other users), % of one core: a busy machine makes every figure less certain. */
  readonly othersCpuPct: number;
}

const deliveredShare = (p: Phase) => (p.expected > 0 ? p.delivered / p.expected : 0);
const saturated = (p: Phase) => !(p.p99 <= SATURATED_P99_MS) || deliveredShare(p) < SATURATED_DELIVERED;

interface RowResult {
  readonly row: Row;
  readonly fixed: Phase;
  readonly steps: readonly Phase[];
  readonly converge: ConvergeReport;
}

async function createDocs(port: number, ids: readonly string[], tokens: TokenService): Promise<void> {
  const owner = await tokens.sign({ sub: 'bench-owner', role: 'user', name: 'bench-owner' });
  for (const id of ids) {
    const res = await fetch(`http://127.0.0.1:${port}/api/docs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, access: { read: ['*'], write: ['*'] } }),
    });
    if (res.status !== 201) throw new Error(`POST /api/docs ${id}: ${res.status} ${await res.text()}`);
  }
}

function endpoint(row: Row, port: number): string {
  return row.server === 'switchyard' ? `ws://127.0.0.1:${port}/doc` : `ws://127.0.0.1:${port}`;
}

/** One phase on every load process at once, with the CPU of servers, Redis and loads over it. */
async function phase(loads: RpcChild<LoadRequest>[], servers: DocsServer[], redis: BenchRedis | null, intervalMs: number, durationMs: number): Promise<Phase> {
  const cpu = (pids: number[]) => pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
  const serverPids = servers.map((s) => s.pid);
  const loadCpu0 = loads.map((l) => cpuSeconds(l.pid));
  const server0 = cpu(serverPids);
  const redis0 = redis ? cpuSeconds(redis.pid) : 0;
  const machine = new MachineMeter();
  const t0 = process.hrtime.bigint();
  const reports = await Promise.all(loads.map((l) => l.call<PhaseReport>({ op: 'run', intervalMs, durationMs, drainMs: DRAIN_MS })));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const histogram = new Histogram();
  for (const r of reports) histogram.add(r.histogram);
  const sum = (f: (r: PhaseReport) => number) => reports.reduce((s, r) => s + f(r), 0);
  const serverCpuS = cpu(serverPids) - server0;
  const redisCpuS = redis ? cpuSeconds(redis.pid) - redis0 : 0;
  const loadCpuS = loads.reduce((s, l, i) => s + cpuSeconds(l.pid) - loadCpu0[i]!, 0);
  const ours = ((serverCpuS + redisCpuS + loadCpuS) / seconds) * 100;
  return {
    offeredEditsPerSec: ((DOCS * CLIENTS) / intervalMs) * 1000,
    windowS: durationMs / 1000,
    seconds,
    sent: sum((r) => r.sent),
    expected: sum((r) => r.expected),
    delivered: sum((r) => r.delivered),
    p50: histogram.percentile(50),
    p99: histogram.percentile(99),
    serverCpuS,
    redisCpuS,
    loadCpuPct: Math.max(...loads.map((l, i) => ((cpuSeconds(l.pid) - loadCpu0[i]!) / seconds) * 100)),
    disconnects: sum((r) => r.disconnects),
    othersCpuPct: Math.max(0, machine.read(CORES) - ours),
  };
}

function describe(p: Phase): string {
  return (
    `offered ${fmt(p.offeredEditsPerSec)} edits/s (sent ${fmt(p.sent / p.windowS)}): delivered ${fmt(p.delivered / p.windowS)} updates/s (${fmt(deliveredShare(p) * 100)} %), ` +
    `p50 ${fmt(p.p50)} ms p99 ${fmt(p.p99)} ms, server ${fmt((p.serverCpuS / p.seconds) * 100)} % CPU` +
    `${p.redisCpuS > 0 ? ` + redis ${fmt((p.redisCpuS / p.seconds) * 100)} %` : ''}, ` +
    `${fmt(p.delivered / p.serverCpuS)} updates/CPU-s, load ${fmt(p.loadCpuPct)} %${p.loadCpuPct > 90 ? ' (LOAD-BOUND)' : ''}` +
    `${p.sent < 0.9 * p.offeredEditsPerSec * p.windowS ? ' (load sent late: starved of CPU)' : ''}` +
    `${p.disconnects > 0 ? `, ${p.disconnects} disconnects` : ''}, rest of the machine ${fmt(p.othersCpuPct)} %`
  );
}

async function runRow(row: Row, redisOf: () => Promise<BenchRedis>, tokens: TokenService): Promise<RowResult> {
  const redis = row.redis ? await redisOf() : null;
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'swy-bench-docs-'));
  const servers: DocsServer[] = [];
  const loads: RpcChild<LoadRequest>[] = [];
  const profiles = Array.from({ length: row.instances }, (_, i) => (profilingRequested() ? profileDir('docs', row.instances > 1 ? `${row.id}-${i + 1}` : row.id) : undefined));
  try {
    for (let i = 0; i < row.instances; i++) {
      servers.push(
        await startDocsServer({
          kind: row.server,
          secret: SECRET,
          redis: redis ? { host: redis.host, port: redis.port, prefix } : undefined,
          dataDir,
          profileDir: profiles[i],
        }),
      );
    }
    const docIds = Array.from({ length: DOCS }, (_, i) => `bench-${prefix}-${i}`);
    if (row.server === 'switchyard') await createDocs(servers[0]!.port, docIds, tokens);
    const token = await tokens.sign({ sub: 'bench-editor', role: 'user', name: 'bench-editor' });
    const endpoints = servers.map((s) => endpoint(row, s.port));
    // DOCS_BENCH_LOAD_NODE_OPTIONS: node flags for the load processes (e.g. --cpu-prof, to see what a client costs).
    const loadArgs = process.env.DOCS_BENCH_LOAD_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
    for (let i = 0; i < LOAD_PROCESSES; i++) loads.push(new RpcChild<LoadRequest>(new URL('./docs/load.js', import.meta.url), loadArgs));
    await Promise.all(
      loads.map((l, i) =>
        l.call({ op: 'open', client: row.client, endpoints, docs: docIds.filter((_, d) => d % LOAD_PROCESSES === i), clientsPerDoc: CLIENTS, token }),
      ),
    );
    await phase(loads, servers, redis, BASE_INTERVAL_MS, WARMUP_MS); // connections, JIT, document load
    const fixed = await phase(loads, servers, redis, BASE_INTERVAL_MS, FIXED_MS);
    console.log(`  ${row.label}\n    fixed   ${describe(fixed)}`);
    const steps: Phase[] = [];
    if (!saturated(fixed)) {
      for (const intervalMs of STEPS) {
        const step = await phase(loads, servers, redis, intervalMs, STEP_MS);
        steps.push(step);
        console.log(`    step    ${describe(step)}${saturated(step) ? '  <- saturated' : ''}`);
        if (saturated(step)) break;
      }
    }
    const reports = await Promise.all(loads.map((l) => l.call<ConvergeReport>({ op: 'converge', timeoutMs: CONVERGE_MS })));
    const converge = { docs: reports.reduce((s, r) => s + r.docs, 0), divergent: reports.reduce((s, r) => s + r.divergent, 0), details: reports.flatMap((r) => r.details) };
    console.log(`    converge: ${converge.divergent} of ${converge.docs} documents divergent after ${CONVERGE_MS / 1000} s`);
    for (const d of converge.details) console.log(`      ${d}`);
    return { row, fixed, steps, converge };
  } finally {
    await Promise.all(loads.map((l) => l.call({ op: 'close' }).catch(() => {})));
    await Promise.all(loads.map((l) => l.close()));
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
    for (const dir of profiles) {
      if (!dir) continue;
      const top = topSelfTime(dir);
      console.log(`    profile ${dir}\n      top self time: ${top.map((t) => `${t.frame} ${fmt(t.pct)} %`).join('; ') || '(no profile written)'}`);
    }
  }
}

function metricsOf(r: RowResult): Record<string, number> {
  const { id } = r.row;
  const f = r.fixed;
  const sustained = [f, ...r.steps].filter((p) => !saturated(p));
  const firstSaturated = [f, ...r.steps].find(saturated);
  return {
    [`${id}_updates_per_s`]: Math.round(f.delivered / f.windowS),
    // Below the offered rate when the load processes' timers run late (a busy machine).
    [`${id}_sent_edits_per_s`]: Math.round(f.sent / f.windowS),
    [`${id}_delivered_pct`]: Number((deliveredShare(f) * 100).toFixed(2)),
    [`${id}_server_cpu_pct`]: Number(((f.serverCpuS / f.seconds) * 100).toFixed(1)),
    [`${id}_updates_per_cpu_s`]: Math.round(f.delivered / f.serverCpuS),
    [`${id}_p50_ms`]: f.p50,
    [`${id}_p99_ms`]: f.p99,
    ...(r.row.redis
      ? {
          [`${id}_redis_cpu_pct`]: Number(((f.redisCpuS / f.seconds) * 100).toFixed(1)),
          // The cluster's whole cost: Redis does part of the fan-out work.
          [`${id}_updates_per_cpu_s_with_redis`]: Math.round(f.delivered / (f.serverCpuS + f.redisCpuS)),
        }
      : {}),
    [`${id}_load_cpu_pct`]: Number(f.loadCpuPct.toFixed(1)),
    [`${id}_others_cpu_pct`]: Number(f.othersCpuPct.toFixed(1)),
    [`${id}_max_sustained_updates_per_s`]: sustained.length ? Math.round(Math.max(...sustained.map((p) => p.delivered / p.windowS))) : 0,
    // 0 = not saturated within the steps run (the load processes may have been the limit first).
    [`${id}_saturated_at_edits_per_s`]: firstSaturated ? firstSaturated.offeredEditsPerSec : 0,
    [`${id}_divergent_docs`]: r.converge.divergent,
    [`${id}_disconnects`]: f.disconnects + r.steps.reduce((s, p) => s + p.disconnects, 0),
  };
}

const CHART_METRICS: ReadonlyArray<readonly [string, string]> = [
  ['delivered updates per server CPU-second (fixed load)', 'updates_per_cpu_s'],
  ['end-to-end p99 at the fixed load, ms', 'p99_ms'],
  ['end-to-end p50 at the fixed load, ms', 'p50_ms'],
  ['server CPU at the fixed load, % of a core', 'server_cpu_pct'],
  ['highest delivered updates/s below saturation', 'max_sustained_updates_per_s'],
];

function charts(results: readonly RowResult[]): Chart[] {
  return CHART_METRICS.map(([title, stem]) => ({
    title,
    bars: results.map((r) => ({ label: r.row.short, metric: `${r.row.id}_${stem}`, baseline: r.row.server !== 'switchyard' })),
  }));
}

async function main(): Promise<void> {
  const rows = ROWS.filter((r) => !ONLY || ONLY.includes(r.id));
  console.log(
    `bench:docs${QUICK ? ' --quick' : ''} — ${DOCS} docs × ${CLIENTS} clients, one edit per client every ${BASE_INTERVAL_MS} ms ` +
      `(${fmt(((DOCS * CLIENTS) / BASE_INTERVAL_MS) * 1000)} edits/s offered, each to ${CLIENTS - 1} other replicas), ${FIXED_MS / 1000} s; ` +
      `then ${STEPS.map((s) => `${s} ms`).join(', ')} for ${STEP_MS / 1000} s each until p99 > ${SATURATED_P99_MS} ms or < ${SATURATED_DELIVERED * 100} % delivered; ` +
      `${LOAD_PROCESSES} load processes, ${CORES} cores shared by servers, Redis and load`,
  );
  const tokens = new TokenService(SECRET);
  let redis: BenchRedis | null = null;
  const redisOf = async () => (redis ??= await startBenchRedis());
  const results: RowResult[] = [];
  try {
    for (const row of rows) results.push(await runRow(row, redisOf, tokens));
  } finally {
    await (redis as BenchRedis | null)?.stop();
  }

  const metrics: Record<string, number> = Object.assign({ quick: QUICK ? 1 : 0, docs: DOCS, clients_per_doc: CLIENTS }, ...results.map(metricsOf));
  const m = (k: string) => metrics[k] ?? NaN;
  const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
  Object.assign(metrics, {
    memory_vs_ywebsocket_per_cpu: ratio(m('switchyard_memory_updates_per_cpu_s'), m('ywebsocket_updates_per_cpu_s')),
    memory_vs_hocuspocus_per_cpu: ratio(m('switchyard_memory_updates_per_cpu_s'), m('hocuspocus_updates_per_cpu_s')),
    memory_p99_vs_ywebsocket: ratio(m('switchyard_memory_p99_ms'), m('ywebsocket_p99_ms')),
    memory_p99_vs_hocuspocus: ratio(m('switchyard_memory_p99_ms'), m('hocuspocus_p99_ms')),
    memory_vs_redis_per_cpu: ratio(m('switchyard_memory_updates_per_cpu_s'), m('switchyard_redis_updates_per_cpu_s')),
    redis2_vs_hocuspocus_redis2_per_cpu: ratio(m('switchyard_redis2_updates_per_cpu_s'), m('hocuspocus_redis2_updates_per_cpu_s')),
    divergent_docs_max: Math.max(...results.map((r) => r.converge.divergent)),
  });
  if (ONLY) {
    console.log(`\nbench:docs: DOCS_BENCH_ONLY=${ONLY.join(',')} is a partial run; no verdict, nothing written`);
    return;
  }
  const targets: Record<string, Target> = {
    memory_vs_ywebsocket_per_cpu: { min: 3 },
    memory_vs_hocuspocus_per_cpu: { min: 2 },
    memory_p99_vs_ywebsocket: { max: 1 },
    memory_p99_vs_hocuspocus: { max: 1 },
    memory_vs_redis_per_cpu: { min: 1 },
    divergent_docs_max: { max: 0 },
  };
  reportResult('docs', metrics, targets, { charts: charts(results) });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
  // Servers and load processes are reaped by their 'exit' hooks.
  setTimeout(() => process.exit(1), 1_000).unref();
});
