/**
 * `npm run bench:ws` — one run, one raw-socket load generator (several processes), every
 * server in its own process, compared per server CPU-second (/proc/<pid>/stat):
 *   uws       a bare uWebSockets.js app doing the same relay (the ceiling)
 *   socketio  socket.io 4 on its default server
 *   memory    switchyard `/ws`, memory coordination (`node dist/src/main.js`)
 *   redis     switchyard `/ws`, Redis coordination
 *   sio       switchyard's Socket.IO dialect on `/ws/socket.io` (when it answers the handshake)
 *   cluster / socketio_cluster  two switchyard (Redis) instances vs two socket.io servers with
 *             `@socket.io/redis-adapter`, every room's members split across the two.
 * Relay shapes: `rooms` (10 rooms × 100 members, 4 publishers each, fire and forget, paced) and
 * `bigroom` (1 room × 200 members, 4 publishers each keeping 32 ACKED `events:channel` in flight,
 * 100-byte payloads). Loss check per (publisher, seq) per receiver: lost, duplicated, closed apart.
 * Ack round trip: `heartbeat` with ack at 5,000/s over 200 sockets (open loop), after the relay
 * rows, on fresh servers and a fresh load process, in 5 interleaved rounds (each round measures
 * every server once): the Redis target is the worst round's p99; the ratios compare each server's
 * median round.
 * RSS per idle authenticated connection at 10,000.
 * Flags: `--quick` (a short validation run), `--profile` or BENCH_PROFILE=1 (bench/lib/profile.ts).
 * Env: WS_BENCH_ONLY=memory,redis (a partial run: figures printed, no verdict, nothing written),
 * WS_BENCH_SHAPES=bigroom, WS_BENCH_PHASES=idle,relay,ack, WS_BENCH_CLIENTS (3 load processes),
 * WS_BENCH_ACK_PROCESSES (1: the load processes that send the heartbeats), WS_BENCH_ACK_ROUNDS (5), WS_BENCH_ACK_TRACE=1 (when in each run the slow acks were),
 * WS_BENCH_SERVER_ARGS='--trace-gc' (node flags for every server; their output goes to stderr).
 * A profile of just one shape: `WS_BENCH_ONLY=memory WS_BENCH_SHAPES=bigroom WS_BENCH_PHASES=relay … --profile`.
 */
import { fmt, median, reportResult, type Target } from './lib/results.js';
import { profileDir, profileNodeArgs, profilingRequested, topSelfTime } from './lib/profile.js';
import { TokenService } from '../src/auth/tokens.js';
import { loadUws } from '../src/gateway/uws.js';
import { startRedis } from '../test/helpers/redis.js';
import { answersEngineIo, type DialectName } from './ws/dialects.js';
import { LoadPool } from './ws/LoadPool.js';
import { ackPhase, idlePhase, relayPhase, type AckFigures, type RelayFigures, type Shape, type Timing } from './ws/phases.js';
import { startServer, type ServerOptions, type ServerProcess } from './ws/servers.js';
import { availableParallelism } from 'node:os';

const QUICK = process.argv.includes('--quick');
const PROFILE = profilingRequested();
const CLIENTS = Number(process.env.WS_BENCH_CLIENTS ?? 3);
const IDLE = QUICK ? 1_000 : 10_000;
const TIMING: Timing = QUICK ? { warmupMs: 500, measureMs: 1_500, drainMs: 5_000 } : { warmupMs: 1_500, measureMs: 5_000, drainMs: 10_000 };
/**
 * One load process sends every heartbeat: with three of them and the server runnable on two
 * cores, the run queue's wait (a few ms whenever a core is taken) was most of every server's
 * p99, bare uWS's included. 5,000/s is light work for one process. WS_BENCH_ACK_PROCESSES sets it.
 */
const ACK = { sockets: 200, ratePerSec: 5_000, durationMs: QUICK ? 1_500 : 4_000, processes: Number(process.env.WS_BENCH_ACK_PROCESSES ?? 1) };
const ACK_RUNS = Number(process.env.WS_BENCH_ACK_ROUNDS ?? 5); // one run's p99 is noise-bound: every server gets the same rounds (Redis target: the worst)
/** A hung phase must not hold `npm run bench` forever; a whole run took ~7 min on one 2-core machine and over 8 on a slower one. */
const DEADLINE_MS = 25 * 60_000;
const SECRET = 'bench-secret-0123456789abcdef';

const SHAPES: Shape[] = [
  { name: 'rooms', rooms: 10, members: 100, publishers: 4, mode: 'paced', window: 32, payloadBytes: 64 },
  { name: 'bigroom', rooms: 1, members: 200, publishers: 4, mode: 'acked', window: 32, payloadBytes: 100 },
].filter((s) => !process.env.WS_BENCH_SHAPES || process.env.WS_BENCH_SHAPES.split(',').includes(s.name)) as Shape[];

interface Row {
  /** Metric prefix. */
  readonly name: string;
  readonly servers: Array<Omit<ServerOptions, 'redisUrl'> & { redis?: boolean }>;
  readonly dialect: DialectName;
  readonly idle: boolean;
  /** Measured in the ack section (one server of the row). */
  readonly ack: boolean;
}

const ROWS: Row[] = [
  { name: 'uws', servers: [{ kind: 'uws', label: 'uws' }], dialect: 'envelope', idle: true, ack: true },
  { name: 'socketio', servers: [{ kind: 'socketio', label: 'socketio' }], dialect: 'socketio', idle: true, ack: true },
  { name: 'memory', servers: [{ kind: 'switchyard', label: 'memory' }], dialect: 'envelope', idle: true, ack: true },
  { name: 'redis', servers: [{ kind: 'switchyard', label: 'redis', redis: true, redisPrefix: 'bench-redis' }], dialect: 'envelope', idle: false, ack: true },
  { name: 'sio', servers: [{ kind: 'switchyard', label: 'sio' }], dialect: 'switchyard-socketio', idle: true, ack: true },
  {
    name: 'cluster',
    servers: ['a', 'b'].map((x) => ({ kind: 'switchyard' as const, label: `cluster-${x}`, redis: true, redisPrefix: 'bench-cluster' })),
    dialect: 'envelope',
    idle: false,
    ack: false,
  },
  {
    name: 'socketio_cluster',
    servers: ['a', 'b'].map((x) => ({ kind: 'socketio' as const, label: `socketio-cluster-${x}`, redis: true, redisPrefix: 'bench-sio' })),
    dialect: 'socketio',
    idle: false,
    ack: false,
  },
];
const ONLY = process.env.WS_BENCH_ONLY?.split(',');
const PHASES = (process.env.WS_BENCH_PHASES ?? 'idle,relay,ack').split(',');
/** Extra node flags for every server process (e.g. `--trace-gc`); what they print goes to stderr. */
const SERVER_ARGS = process.env.WS_BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [];

function relayLine(label: string, shape: string, f: RelayFigures): string {
  return (
    `[${label}] ${shape}: ${fmt(f.deliveriesPerSec)} deliveries/s, server CPU ${fmt(f.serverCpuPct)} % ` +
    `(${fmt(f.deliveriesPerSec / (f.serverCpuPct / 100))} per server CPU-s), ${f.redisCpuPct ? `Redis CPU ${fmt(f.redisCpuPct)} %, ` : ''}load CPU ${fmt(f.clientsCpuPct)} %, ` +
    `machine ${fmt(f.machineCpuPct)} % of ${availableParallelism() * 100}; lost ${f.lost}, duplicated ${f.duplicated}, closed ${f.closed}, unexpected ${f.unexpected}`
  );
}

/** Runs one row's phases; its metrics go into `metrics` under `<row>_…`. */
async function runRow(row: Row, pool: LoadPool, tokens: string[], redis: { url: string; pid: number | null }, metrics: Record<string, number>): Promise<void> {
  const usesRedis = row.servers.some((s) => s.redis);
  const servers: ServerProcess[] = [];
  try {
    for (const s of row.servers) {
      servers.push(await startServer({ ...s, redisUrl: s.redis ? redis.url : undefined }, SECRET, [...SERVER_ARGS, ...profileNodeArgs('ws', s.label, PROFILE)]));
    }
    console.log(`\n[${row.name}] ${servers.map((s) => `pid ${s.pid} on :${s.port}`).join(', ')}`);
    const m = (key: string, value: number) => (metrics[`${row.name}_${key}`] = value);
    if (row.idle && PHASES.includes('idle')) {
      const idle = await idlePhase(servers[0]!, pool, row.dialect, tokens, IDLE);
      const split = idle.split ? ` (JS heap ${fmt(idle.split.heapKb)} KB, external ${fmt(idle.split.externalKb)} KB, native rest ${fmt(idle.kb - idle.split.heapKb - idle.split.externalKb)} KB)` : '';
      console.log(`[${row.name}] ${idle.opened} idle sockets: ${fmt(idle.kb)} KB RSS each${split}`);
      m('rss_per_idle_conn_kb', Number(idle.kb.toFixed(2)));
      if (idle.split) {
        m('heap_per_idle_conn_kb', Number(idle.split.heapKb.toFixed(2)));
        m('external_per_idle_conn_kb', Number(idle.split.externalKb.toFixed(2)));
      }
    }
    let lost = 0;
    let duplicated = 0;
    let closed = 0;
    let unexpected = 0;
    for (const shape of PHASES.includes('relay') ? SHAPES : []) {
      const f = await relayPhase(servers, pool, row.dialect, shape, tokens, TIMING, usesRedis ? (redis.pid ?? undefined) : undefined);
      console.log(relayLine(row.name, shape.name, f));
      m(`${shape.name}_deliveries_per_s`, Math.round(f.deliveriesPerSec));
      m(`${shape.name}_server_cpu_pct`, Math.round(f.serverCpuPct));
      m(`${shape.name}_machine_cpu_pct`, Math.round(f.machineCpuPct));
      if (usesRedis) m(`${shape.name}_redis_cpu_pct`, Math.round(f.redisCpuPct));
      // The box is shared by server, generator and the kernel's loopback TCP: the comparison is
      // per server CPU-second (deliveries/s the server would do at 100 % of one core).
      m(`${shape.name}_deliveries_per_server_cpu_s`, Math.round(f.deliveriesPerSec / (f.serverCpuPct / 100)));
      if (f.serverCpuPct < 80 * servers.length) console.log(`note: ${row.name} ${shape.name}: server at ${fmt(f.serverCpuPct)} % with the machine at ${fmt(f.machineCpuPct)} %: the box, not the server, was the limit`);
      lost += f.lost;
      duplicated += f.duplicated;
      closed += f.closed;
      unexpected += f.unexpected;
    }
    m('lost', lost);
    m('duplicated', duplicated);
    m('closed', closed);
    // Stray events (on sockets in no room, an echo to its publisher, unreadable frames); the ack section adds its own.
    m('errors', unexpected);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  // Written when each server exited: the whole life of the server, all of this row's phases.
  if (PROFILE) for (const s of servers) printProfile(s.label);
}

function printProfile(label: string): void {
  console.log(`CPU profile of ${label} in ${profileDir('ws', label)}; top self time:`);
  for (const t of topSelfTime(profileDir('ws', label))) console.log(`    ${fmt(t.pct)} %  ${fmt(t.ms)} ms  ${t.frame}`);
}

/**
 * The ack round trips of every row that has them, after the relay rows and interleaved: round k
 * measures every server once, back to back (the order rotating by round), so a slow stretch of
 * the machine lands on all of them instead of on one row. The servers and the load process are
 * fresh, started for this section: in full runs the probe shared its load process with the row's
 * relay phases (a heap grown by millions of tallied deliveries), and bare uWS's own p99 swung
 * 0.9-6.5 ms from run to run; alone it measured 0.23-0.30 ms.
 */
async function runAckSection(rows: Row[], tokens: string[], redis: { url: string }, metrics: Record<string, number>): Promise<void> {
  const started: Array<{ row: Row; server: ServerProcess; runs: AckFigures[] }> = [];
  const pool = new LoadPool(ACK.processes);
  try {
    for (const row of rows) {
      const s = row.servers[0]!;
      const label = `${s.label}-ack`;
      const options = { ...s, label, redisPrefix: s.redisPrefix && `${s.redisPrefix}-ack`, redisUrl: s.redis ? redis.url : undefined };
      started.push({ row, server: await startServer(options, SECRET, [...SERVER_ARGS, ...profileNodeArgs('ws', label, PROFILE)]), runs: [] });
    }
    console.log(`\n[ack] ${ACK_RUNS} rounds, each measuring ${started.map((x) => `${x.row.name} (pid ${x.server.pid})`).join(', ')} in turn`);
    for (let round = 0; round < ACK_RUNS; round++) {
      for (let i = 0; i < started.length; i++) {
        const { row, server, runs } = started[(i + round) % started.length]!;
        const a = await ackPhase(server, pool, row.dialect, tokens, ACK.sockets, ACK.ratePerSec, ACK.durationMs, ACK.processes);
        console.log(`[${row.name}] ack round ${round + 1}: p50 ${a.p50Us} µs, p99 ${a.p99Us} µs, max ${a.maxUs} µs (${fmt(a.acksPerSec)} acks/s over ${ACK.sockets} sockets; missing ${a.missing}, failed ${a.failed}; server CPU ${fmt(a.serverCpuPct)} %, load ${fmt(a.clientsCpuPct)} %)`);
        if (process.env.WS_BENCH_ACK_TRACE === '1') console.log(`[${row.name}]   acks over 2 ms per 250 ms: ${a.slowTimeline}`);
        runs.push(a);
      }
    }
    for (const { row, runs } of started) {
      const m = (key: string, value: number) => (metrics[`${row.name}_${key}`] = value);
      const worst = (pick: (a: AckFigures) => number) => Math.max(...runs.map(pick));
      m('ack_p50_us', worst((a) => a.p50Us));
      m('ack_p99_us', worst((a) => a.p99Us));
      m('ack_max_us', worst((a) => a.maxUs));
      m('ack_p99_median_us', median(runs.map((a) => a.p99Us)));
      m('errors', (metrics[`${row.name}_errors`] ?? 0) + runs.reduce((n, a) => n + a.missing + a.failed, 0));
    }
  } finally {
    await Promise.all(started.map((x) => x.server.stop()));
    await pool.stop();
    if (PROFILE) for (const { server } of started) printProfile(server.label);
  }
}

const ratio = (a: number | undefined, b: number | undefined, digits = 3) => (a === undefined || b === undefined ? NaN : Number((a / b).toFixed(digits)));

/** The comparisons and their targets (issues 14, 10 and 12). */
function verdicts(metrics: Record<string, number>, sio: boolean): Record<string, Target> {
  const perCpu = (row: string, shape: string) => metrics[`${row}_${shape}_deliveries_per_server_cpu_s`];
  const targets: Record<string, Target> = {};
  const compare = (name: string, a: string, b: string, shape: string, target: Target) => {
    metrics[`${name}_${shape}`] = ratio(perCpu(a, shape), perCpu(b, shape));
    targets[`${name}_${shape}`] = target;
  };
  for (const { name: shape } of SHAPES) {
    compare('memory_vs_uws', 'memory', 'uws', shape, { min: 0.8 });
    compare('memory_vs_socketio', 'memory', 'socketio', shape, { min: 5 });
    compare('redis_vs_memory', 'redis', 'memory', shape, { min: 0.7 });
    compare('cluster_vs_socketio_cluster', 'cluster', 'socketio_cluster', shape, { min: 5 });
    if (sio) {
      compare('sio_vs_socketio', 'sio', 'socketio', shape, { min: 5 });
      compare('sio_vs_memory', 'sio', 'memory', shape, { min: 0.6 });
    }
  }
  // Ratios of median runs; the worst-run ratios are reported beside them.
  metrics.memory_ack_p99_vs_uws = ratio(metrics.memory_ack_p99_median_us, metrics.uws_ack_p99_median_us, 2);
  metrics.memory_ack_p99_worst_vs_uws_worst = ratio(metrics.memory_ack_p99_us, metrics.uws_ack_p99_us, 2);
  targets.memory_ack_p99_vs_uws = { max: 1.5 };
  metrics.redis_ack_p99_worst_ms = ratio(metrics.redis_ack_p99_us, 1000, 3);
  targets.redis_ack_p99_worst_ms = { max: 2 };
  targets.memory_rss_per_idle_conn_kb = { max: 3 };
  if (sio) {
    metrics.sio_ack_p99_vs_memory = ratio(metrics.sio_ack_p99_median_us, metrics.memory_ack_p99_median_us, 2);
    metrics.sio_ack_p99_worst_vs_memory_worst = ratio(metrics.sio_ack_p99_us, metrics.memory_ack_p99_us, 2);
    targets.sio_ack_p99_vs_memory = { max: 1.5 };
    targets.sio_rss_per_idle_conn_kb = { max: 4 };
  }
  // Validity: every delivery arrived once; no socket closed, no stray event, every ack came.
  for (const row of ROWS) {
    if (row.name === 'sio' && !sio) continue;
    for (const k of ['lost', 'duplicated', 'closed', 'errors']) targets[`${row.name}_${k}`] = { max: 0 };
  }
  return targets;
}

async function main(): Promise<number> {
  if (!loadUws().native) {
    console.error(`bench:ws: uWebSockets.js is on its JS fallback (no native binary for Node ABI ${process.versions.modules}); refusing to report.`);
    return 2;
  }
  const redis = await startRedis();
  if (!redis) {
    console.error('bench:ws: needs redis-server on PATH (or REDIS_URL) for the Redis and cluster rows');
    return 2;
  }
  const signer = new TokenService(SECRET);
  const tokens = await Promise.all(Array.from({ length: Math.max(IDLE, 1_000) }, (_, i) => signer.sign({ sub: `u${i}`, ttlSeconds: 3_600 })));
  console.log(
    `bench:ws${QUICK ? ' --quick' : ''}${PROFILE ? ' --profile' : ''} — ${CLIENTS} load processes; shapes ${SHAPES.map((s) => `${s.name} (${s.rooms} × ${s.members}, ${s.publishers} publishers, ${s.mode}, window ${s.window}, ${s.payloadBytes} B)`).join(', ')}; ` +
      `${IDLE} idle sockets; acks ${ACK.ratePerSec}/s over ${ACK.sockets} sockets from ${ACK.processes} load process(es); Redis ${redis.url}`,
  );
  try {
    const metrics: Record<string, number> = {};
    let sio = false;
    for (const row of ROWS) {
      if (ONLY && !ONLY.includes(row.name)) continue;
      if (row.name === 'sio') {
        sio = await probeDialect();
        if (!sio) {
          console.log('\n!!! switchyard socket.io dialect not available (no Engine.IO answer on /ws/socket.io/): the sio row is left out');
          continue;
        }
      }
      if (!PHASES.includes('idle') && !PHASES.includes('relay')) continue;
      // Fresh load processes for every row, so rows differ only in the server: processes a row
      // leaves behind (10,000 idle sockets opened and closed, another dialect's parser warmed
      // up) are a suspect in memory mode's lower relay figure in full runs, where it follows the
      // socket.io row (1.8M per server CPU-s; 2.2-2.6M in runs with no row before it).
      const pool = new LoadPool(CLIENTS);
      try {
        await runRow(row, pool, tokens, redis, metrics);
      } finally {
        await pool.stop();
      }
    }
    const ackRows = ROWS.filter((r) => r.ack && (!ONLY || ONLY.includes(r.name)) && (r.name !== 'sio' || sio));
    if (PHASES.includes('ack') && ackRows.length > 0) await runAckSection(ackRows, tokens, redis, metrics);
    if (ONLY) {
      console.log(JSON.stringify(metrics, null, 2));
      return 0; // a partial run (for profiling) reports no verdict
    }
    if (QUICK) metrics.quick_run = 1; // a validation run: not a figure to publish
    const targets = verdicts(metrics, sio);
    return reportResult('ws', metrics, targets).pass ? 0 : 1;
  } finally {
    await redis.stop();
  }
}

/** One Engine.IO handshake against a fresh switchyard process. */
async function probeDialect(): Promise<boolean> {
  const server = await startServer({ kind: 'switchyard', label: 'sio-probe' }, SECRET);
  try {
    return await answersEngineIo('127.0.0.1', server.port);
  } finally {
    await server.stop();
  }
}

const deadline = setTimeout(() => {
  console.error(`bench:ws: still running after ${DEADLINE_MS / 1000} s; giving up`);
  process.exit(1); // children are reaped by their 'exit' hooks and the IPC disconnect
}, DEADLINE_MS);
main().then(
  (code) => {
    clearTimeout(deadline);
    process.exitCode = code;
  },
  (err: unknown) => {
    clearTimeout(deadline);
    console.error(`bench:ws failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  },
);
