/**
 * The measured phases of `bench:ws`, each against one or more server processes (a cluster
 * row is two): RSS per idle connection, a relay shape, the ack round trip. Server CPU is
 * read from /proc for the servers only, so the figures are per server CPU-second.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from '../lib/results.js';
import type { DialectName } from './dialects.js';
import type { Counts, LoadPool } from './LoadPool.js';
import type { SendMode, SocketSpec } from './loadClient.js';
import { CpuMeter, MachineMeter, rssBytes } from './procStats.js';
import type { ServerProcess } from './servers.js';

const LOOPBACKS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const SETTLE_MS = 3_000;

export interface Timing {
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly drainMs: number;
}

/** One relay workload: `rooms` rooms of `members` sockets, `publishers` of them sending. */
export interface Shape {
  readonly name: string;
  readonly rooms: number;
  readonly members: number;
  readonly publishers: number;
  readonly mode: SendMode;
  /** paced: messages per room beyond what a member has seen; acked: acks in flight per publisher. */
  readonly window: number;
  readonly payloadBytes: number;
}

export interface RelayFigures {
  deliveriesPerSec: number;
  /** Sum over the row's server processes, % of one core. */
  serverCpuPct: number;
  clientsCpuPct: number;
  /** The shared Redis of a Redis or cluster row (0 otherwise), % of one core. */
  redisCpuPct: number;
  /** Every core's busy time (incl. kernel softirq), % of one core. */
  machineCpuPct: number;
  lost: number;
  duplicated: number;
  closed: number;
  unexpected: number;
}

export interface AckFigures {
  p50Us: number;
  p99Us: number;
  maxUs: number;
  acksPerSec: number;
  missing: number;
  failed: number;
  /** Acks slower than SLOW_ACK_US per SLOW_BUCKET_MS of the run, e.g. "0 0 12 0 …" (WS_BENCH_ACK_TRACE=1 prints it). */
  slowTimeline: string;
  /** The server's and the load's CPU over the measured run, % of one core. */
  serverCpuPct: number;
  clientsCpuPct: number;
}

const SLOW_ACK_US = 2_000;
/**
 * Heartbeats at the probe's rate before each measured ack run (every server alike). 1 s let a
 * switchyard server's first major GC (its heap growing from start-up to steady state, 7-17 ms
 * stop-the-world with prom-client's GC observer) land in run 1 (--trace-gc: at 4.1 s of a
 * server's life, run 1 starting at ~3 s); 2.5 s covers it. Steady state is what is compared.
 */
const ACK_WARMUP_MS = 2_500;
const SLOW_BUCKET_MS = 250;

/** A switchyard server's JS heap in use and its memory outside the heap (prom-client's default metrics); null for a peer without /metrics. */
async function heapOf(port: number): Promise<{ heap: number; external: number } | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^switchyard_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const heap = read('nodejs_heap_size_used_bytes');
    return Number.isNaN(heap) ? null : { heap, external: read('nodejs_external_memory_bytes') };
  } catch {
    return null;
  }
}

/**
 * RSS growth of the (single) server from opening `count` authenticated sockets that then sit
 * idle, per socket; for switchyard also how much of it is JS heap in use and external memory
 * (the rest is native: uWS's per-socket structures and allocator overhead).
 */
export async function idlePhase(server: ServerProcess, pool: LoadPool, dialect: DialectName, tokens: string[], count: number) {
  await sleep(1_000);
  const before = rssBytes(server.pid);
  const heap0 = await heapOf(server.port);
  const perProcess: SocketSpec[][] = Array.from({ length: pool.size }, () => []);
  for (let i = 0; i < count; i++) {
    perProcess[i % pool.size]!.push({ token: tokens[i]!, kind: 'idle', port: server.port, localAddress: LOOPBACKS[i % LOOPBACKS.length] });
  }
  const opened = await pool.open(server.label, dialect, perProcess, 0);
  await sleep(SETTLE_MS);
  const after = rssBytes(server.pid);
  const heap1 = await heapOf(server.port);
  await pool.closeAll();
  await sleep(1_000);
  const per = (a: number, b: number) => (b - a) / opened / 1024;
  const split = heap0 && heap1 ? { heapKb: per(heap0.heap, heap1.heap), externalKb: per(heap0.external, heap1.external) } : null;
  return { kb: (after - before) / opened / 1024, opened, split };
}

/**
 * Lays the shape out over the load processes and the servers: a room's paced publishers share one
 * process with the member that paces them; acked publishers spread over the processes; the room's
 * sockets alternate between the servers (a cluster row splits every room across its instances).
 */
function layout(shape: Shape, servers: readonly ServerProcess[], processes: number, tokens: string[]): SocketSpec[][] {
  const perProcess: SocketSpec[][] = Array.from({ length: processes }, () => []);
  let t = 0;
  let publisher = 0;
  for (let r = 0; r < shape.rooms; r++) {
    const channel = `bench${r}`;
    const home = r % processes;
    for (let i = 0; i < shape.members; i++) {
      const port = servers[i % servers.length]!.port;
      const isPublisher = i < shape.publishers;
      const proc = shape.mode === 'paced' ? (isPublisher || i === shape.publishers ? home : (home + i) % processes) : (home + i) % processes;
      perProcess[proc]!.push({
        token: tokens[t++]!,
        kind: isPublisher ? 'publisher' : 'member',
        channel,
        port,
        ...(isPublisher ? { publisher: publisher++ } : {}),
        localAddress: LOOPBACKS[t % LOOPBACKS.length],
      });
    }
  }
  return perProcess;
}

/** Deliveries that should have arrived: every publisher's frames, at every other member of its room. */
export function missingDeliveries(c: Counts, members: number): number {
  let missing = 0;
  for (const [pub, sent] of Object.entries(c.sent)) missing += sent * (members - 1) - (c.distinct[Number(pub)] ?? 0);
  return missing;
}

/** `redisPid`: the shared Redis, whose CPU is reported next to the servers' (not in their sum). */
export async function relayPhase(servers: readonly ServerProcess[], pool: LoadPool, dialect: DialectName, shape: Shape, tokens: string[], timing: Timing, redisPid?: number): Promise<RelayFigures> {
  const label = servers.map((s) => s.label).join('+');
  await pool.open(label, dialect, layout(shape, servers, pool.size, tokens), shape.payloadBytes);
  await pool.send(shape.mode, shape.window);
  await sleep(timing.warmupMs);
  const c0 = await pool.counts();
  const meter = new CpuMeter([...servers.map((s) => s.pid), ...pool.pids, ...(redisPid ? [redisPid] : [])]);
  const machine = new MachineMeter();
  const t0 = performance.now();
  await sleep(timing.measureMs);
  const c1 = await pool.counts();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.read();
  const machineCpuPct = machine.read(availableParallelism());
  await pool.stopSend();
  // In-flight frames still arrive after the stop: wait until every one did, or the drain time is up.
  const deadline = Date.now() + timing.drainMs;
  let last = await pool.counts();
  while (missingDeliveries(last, shape.members) > 0 && Date.now() < deadline) {
    await sleep(100);
    last = await pool.counts();
  }
  await pool.closeAll();
  return {
    deliveriesPerSec: (c1.delivered - c0.delivered) / seconds,
    serverCpuPct: servers.reduce((s, srv) => s + cpu.get(srv.pid)!, 0),
    clientsCpuPct: pool.pids.reduce((s, pid) => s + cpu.get(pid)!, 0),
    redisCpuPct: redisPid ? cpu.get(redisPid)! : 0,
    machineCpuPct,
    lost: missingDeliveries(last, shape.members),
    duplicated: last.duplicated,
    closed: last.closed,
    unexpected: last.unexpected,
  };
}

/** `sockets` probe sockets sending `heartbeat` with ack at `ratePerSec` in all (open loop). */
export async function ackPhase(
  server: ServerProcess,
  pool: LoadPool,
  dialect: DialectName,
  tokens: string[],
  sockets: number,
  ratePerSec: number,
  durationMs: number,
  processes: number,
): Promise<AckFigures> {
  const probing = Math.min(processes, pool.size);
  const perProcess: SocketSpec[][] = Array.from({ length: pool.size }, () => []);
  for (let i = 0; i < sockets; i++) perProcess[i % probing]!.push({ token: tokens[i]!, kind: 'probe', port: server.port });
  await pool.open(server.label, dialect, perProcess, 0);
  // Let the connection burst settle (session writes, Redis) before the clock starts.
  await sleep(500);
  // Warm-up, not measured (as the relay phase has): the first second of a server's first run held
  // most of its slow acks (264 of 2 ms+ in the first 250 ms, a switchyard server whose
  // heartbeat path had not run yet), the later runs' first seconds none — compilation, not load.
  await pool.probe(ratePerSec, ACK_WARMUP_MS, 2_000, probing);
  const meter = new CpuMeter([server.pid, ...pool.pids]);
  const r = await pool.probe(ratePerSec, durationMs, 2_000, probing);
  const cpu = meter.read();
  await pool.closeAll();
  const slow = new Array<number>(Math.ceil(durationMs / SLOW_BUCKET_MS)).fill(0);
  r.rtts.forEach((rtt, i) => {
    if (rtt > SLOW_ACK_US) slow[Math.min(slow.length - 1, Math.floor(r.sentAt[i]! / SLOW_BUCKET_MS))]! += 1;
  });
  const rtts = r.rtts.sort((a, b) => a - b);
  return {
    slowTimeline: slow.join(' '),
    p50Us: percentile(rtts, 50),
    p99Us: percentile(rtts, 99),
    maxUs: rtts[rtts.length - 1] ?? NaN,
    acksPerSec: rtts.length / (durationMs / 1000),
    missing: r.missing,
    failed: r.failed,
    serverCpuPct: cpu.get(server.pid)!,
    clientsCpuPct: pool.pids.reduce((sum, pid) => sum + cpu.get(pid)!, 0),
  };
}
