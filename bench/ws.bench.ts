/**
 * `npm run bench:ws` — one run, one load generator, three servers:
 *   (1) a bare uWebSockets.js app doing the same broadcast (the ceiling),
 *   (2) switchyard as shipped (`node dist/src/main.js`, memory coordination),
 *   (3) socket.io 4 on its default server.
 * Per server: RSS per idle authenticated connection at 10,000 sockets, room
 * broadcast deliveries/s (switchyard: `events:channel`), ack round trip p50/p99.
 * The generator is several processes of minimal raw-socket clients that count
 * frames without decoding them; every server's CPU is sampled from /proc so a
 * reader can see the server (not the generator) was the limit.
 * Targets: switchyard ≥ 0.8× bare uWS and ≥ 5× socket.io deliveries/s; ≤ 8 KB RSS per idle connection.
 * Knobs (env): WS_BENCH_CLIENTS (3), WS_BENCH_ROOMS (10), WS_BENCH_MEMBERS (100), WS_BENCH_WINDOW (32),
 * WS_BENCH_IDLE (10000), WS_BENCH_MEASURE_MS (8000); WS_BENCH_ONLY=uws,switchyard (a partial run, no verdict).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TokenService } from '../src/auth/tokens.js';
import { loadUws } from '../src/gateway/uws.js';
import { fmt, percentile, reportResult, type Target } from './lib/results.js';
import type { DialectName } from './ws/dialects.js';
import type { Command, CountReply, SocketSpec } from './ws/loadClient.js';
import { CpuMeter, MachineMeter, rssBytes } from './ws/procStats.js';
import { availableParallelism } from 'node:os';
import { startServer, stopChild, type ServerProcess } from './ws/servers.js';

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CLIENTS = int('WS_BENCH_CLIENTS', 3);
const ROOMS = int('WS_BENCH_ROOMS', 10);
const MEMBERS = int('WS_BENCH_MEMBERS', 100); // per room, the senders included
const SENDERS = int('WS_BENCH_SENDERS', 4); // per room, all in one load process (paced together)
const WINDOW = int('WS_BENCH_WINDOW', 32); // messages per room beyond what a paced receiver has seen
const IDLE = int('WS_BENCH_IDLE', 10_000);
const MEASURE_MS = int('WS_BENCH_MEASURE_MS', 8_000);
const ONLY = (process.env.WS_BENCH_ONLY ?? 'uws,switchyard,socketio').split(',') as DialectName[];
const WARMUP_MS = 2_000;
const PROBES = 32; // latency sockets, closed loop
const PROBE_MS = 4_000;
const SETTLE_MS = 3_000;
const DRAIN_MS = 10_000;
const DEADLINE_MS = 5 * 60_000;
const PAYLOAD = 'a typing indicator or a short channel message, 64 bytes of text..';
const SECRET = 'bench-secret-0123456789abcdef';
const LOOPBACKS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

/** One load-generator process, with request/reply over IPC. */
class Client {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: { seq: number; ok: boolean; result?: unknown; error?: string }) => {
      const w = this.waiting.get(msg.seq);
      this.waiting.delete(msg.seq);
      if (msg.ok) w?.resolve(msg.result);
      else w?.reject(new Error(msg.error));
    });
    child.once('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load client exited with ${code}`));
      this.waiting.clear();
    });
  }
  get pid(): number {
    return this.child.pid!;
  }
  call<T>(command: Command): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ seq, command });
    });
  }
}

interface Figures {
  deliveriesPerSec: number;
  serverCpuPct: number;
  clientsCpuPct: number;
  /** Every core's busy time (incl. kernel softirq), % of one core. */
  machineCpuPct: number;
  lost: number;
  closed: number;
  unexpected: number;
  ackP50Us: number;
  ackP99Us: number;
  acksPerSec: number;
  rssPerIdleKb: number;
  idleOpened: number;
}

async function openAll(clients: Client[], server: ServerProcess, perClient: SocketSpec[][]): Promise<number> {
  const replies = await Promise.all(
    clients.map((c, i) =>
      c.call<{ opened: number; failed: number; firstError?: string }>({
        cmd: 'open',
        dialect: server.name,
        host: '127.0.0.1',
        port: server.port,
        sockets: perClient[i]!,
        concurrency: 50,
        payload: PAYLOAD,
      }),
    ),
  );
  const failed = replies.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${server.name}: ${failed} sockets failed to open: ${replies.find((r) => r.firstError)?.firstError}`);
  return replies.reduce((n, r) => n + r.opened, 0);
}

const closeAll = (clients: Client[]) => Promise.all(clients.map((c) => c.call({ cmd: 'closeAll' })));
const counts = async (clients: Client[]) => {
  const all = await Promise.all(clients.map((c) => c.call<CountReply>({ cmd: 'count' })));
  return all.reduce((a, b) => ({ delivered: a.delivered + b.delivered, sent: a.sent + b.sent, closed: a.closed + b.closed, unexpected: a.unexpected + b.unexpected }));
};

/** RSS growth of the server from opening IDLE authenticated sockets that then sit idle. */
async function idlePhase(server: ServerProcess, clients: Client[], tokens: string[]): Promise<{ kb: number; opened: number }> {
  await sleep(1_000);
  const before = rssBytes(server.pid);
  const perClient: SocketSpec[][] = clients.map(() => []);
  for (let i = 0; i < IDLE; i++) perClient[i % clients.length]!.push({ token: tokens[i]!, kind: 'idle', localAddress: LOOPBACKS[i % LOOPBACKS.length] });
  const opened = await openAll(clients, server, perClient);
  await sleep(SETTLE_MS);
  const after = rssBytes(server.pid);
  await closeAll(clients);
  await sleep(1_000);
  return { kb: (after - before) / opened / 1024, opened };
}

/** ROOMS rooms of MEMBERS sockets; SENDERS paced senders per room; every receiver counts what it receives. */
async function broadcastPhase(server: ServerProcess, clients: Client[], tokens: string[]) {
  const perClient: SocketSpec[][] = clients.map(() => []);
  let t = 0;
  for (let r = 0; r < ROOMS; r++) {
    const channel = `bench${r}`;
    const home = r % clients.length;
    for (let s = 0; s < SENDERS; s++) perClient[home]!.push({ token: tokens[t++]!, kind: 'sender', channel });
    // Receiver 0 lands in the senders' process: it paces them.
    for (let j = 0; j < MEMBERS - SENDERS; j++) {
      perClient[(home + j) % clients.length]!.push({ token: tokens[t++]!, kind: 'receiver', channel, localAddress: LOOPBACKS[t % LOOPBACKS.length] });
    }
  }
  await openAll(clients, server, perClient);
  await Promise.all(clients.map((c) => c.call({ cmd: 'send', window: WINDOW })));
  await sleep(WARMUP_MS);
  const c0 = await counts(clients);
  const meter = new CpuMeter([server.pid, ...clients.map((c) => c.pid)]);
  const machine = new MachineMeter();
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const c1 = await counts(clients);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.read();
  const machineCpuPct = machine.read(availableParallelism());
  const sent = (await Promise.all(clients.map((c) => c.call<{ sent: number }>({ cmd: 'stopSend' })))).reduce((n, r) => n + r.sent, 0);
  // A sender does not receive its own message, but does receive the other senders' ones.
  const expected = sent * (MEMBERS - SENDERS);
  const deadline = Date.now() + DRAIN_MS;
  let last = await counts(clients);
  while (last.delivered < expected && Date.now() < deadline) {
    await sleep(100);
    last = await counts(clients);
  }
  await closeAll(clients);
  return {
    deliveriesPerSec: (c1.delivered - c0.delivered) / seconds,
    serverCpuPct: cpu.get(server.pid)!,
    clientsCpuPct: clients.reduce((s, c) => s + cpu.get(c.pid)!, 0),
    machineCpuPct,
    lost: expected - last.delivered,
    closed: last.closed,
    unexpected: last.unexpected,
  };
}

/** PROBES sockets in a closed loop of acknowledged events (switchyard/bare: `heartbeat` with ack; socket.io: emit with ack). */
async function ackPhase(server: ServerProcess, clients: Client[], tokens: string[]) {
  const perClient: SocketSpec[][] = clients.map(() => []);
  for (let i = 0; i < PROBES; i++) perClient[i % clients.length]!.push({ token: tokens[i]!, kind: 'probe' });
  await openAll(clients, server, perClient);
  const replies = await Promise.all(clients.map((c) => c.call<{ rtts: number[] }>({ cmd: 'probe', durationMs: PROBE_MS })));
  await closeAll(clients);
  const rtts = replies.flatMap((r) => r.rtts).sort((a, b) => a - b);
  return { ackP50Us: percentile(rtts, 50), ackP99Us: percentile(rtts, 99), acksPerSec: rtts.length / (PROBE_MS / 1000) };
}

async function measure(name: DialectName, clients: Client[], tokens: string[]): Promise<Figures> {
  const server = await startServer(name, SECRET);
  try {
    console.log(`\n[${name}] pid ${server.pid} on :${server.port}`);
    const idle = await idlePhase(server, clients, tokens);
    console.log(`[${name}] ${idle.opened} idle sockets: ${fmt(idle.kb)} KB RSS each`);
    const b = await broadcastPhase(server, clients, tokens);
    console.log(
      `[${name}] broadcast: ${fmt(b.deliveriesPerSec)} deliveries/s, server CPU ${fmt(b.serverCpuPct)} %, ` +
        `load clients CPU ${fmt(b.clientsCpuPct)} % (sum of ${clients.length}), machine ${fmt(b.machineCpuPct)} % of ${availableParallelism() * 100}, lost ${b.lost}, closed ${b.closed}, unexpected ${b.unexpected}`,
    );
    const a = await ackPhase(server, clients, tokens);
    console.log(`[${name}] ack round trip: p50 ${a.ackP50Us} µs, p99 ${a.ackP99Us} µs (${fmt(a.acksPerSec)} acks/s over ${PROBES} sockets)`);
    return { ...b, ...a, rssPerIdleKb: idle.kb, idleOpened: idle.opened };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<number> {
  const { native } = loadUws();
  if (!native) {
    console.error(`bench:ws: uWebSockets.js is on its JS fallback (no native binary for Node ABI ${process.versions.modules}); refusing to report.`);
    return 2;
  }
  const signer = new TokenService(SECRET);
  const tokens = await Promise.all(Array.from({ length: Math.max(IDLE, ROOMS * MEMBERS) }, (_, i) => signer.sign({ sub: `u${i}`, ttlSeconds: 3_600 })));
  const script = fileURLToPath(new URL('./ws/loadClient.js', import.meta.url));
  const clients = Array.from({ length: CLIENTS }, () => new Client(fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  console.log(`bench:ws — ${CLIENTS} load processes; ${ROOMS} rooms × ${MEMBERS} members, window ${WINDOW}; ${IDLE} idle sockets; uWS native`);
  try {
    const figures = {} as Record<DialectName, Figures>;
    for (const name of ONLY) figures[name] = await measure(name, clients, tokens);
    if (ONLY.length < 3) {
      console.log(JSON.stringify(figures, null, 2));
      return 0; // a partial run (WS_BENCH_ONLY, for profiling) reports no verdict
    }

    const metrics: Record<string, number> = {};
    for (const [name, f] of Object.entries(figures)) {
      metrics[`${name}_deliveries_per_s`] = Math.round(f.deliveriesPerSec);
      metrics[`${name}_server_cpu_pct`] = Math.round(f.serverCpuPct);
      metrics[`${name}_load_clients_cpu_pct`] = Math.round(f.clientsCpuPct);
      metrics[`${name}_machine_cpu_pct`] = Math.round(f.machineCpuPct);
      metrics[`${name}_ack_p50_us`] = f.ackP50Us;
      metrics[`${name}_ack_p99_us`] = f.ackP99Us;
      metrics[`${name}_rss_per_idle_conn_kb`] = Number(f.rssPerIdleKb.toFixed(2));
      metrics[`${name}_lost_or_closed`] = f.lost + f.closed + f.unexpected;
    }
    // On a small box the generator and the kernel's loopback TCP work share the cores with the
    // server, which then cannot reach 100 % of a core (see *_machine_cpu_pct). The comparison is
    // therefore made per server CPU-second: deliveries/s the server would do at 100 % of one core.
    for (const [name, f] of Object.entries(figures)) {
      metrics[`${name}_deliveries_per_server_cpu_s`] = Math.round(f.deliveriesPerSec / (f.serverCpuPct / 100));
    }
    const perCore = (name: DialectName) => metrics[`${name}_deliveries_per_server_cpu_s`]!;
    metrics.switchyard_vs_uws = Number((perCore('switchyard') / perCore('uws')).toFixed(3));
    metrics.switchyard_vs_socketio = Number((perCore('switchyard') / perCore('socketio')).toFixed(2));
    metrics.switchyard_vs_uws_raw = Number((figures.switchyard.deliveriesPerSec / figures.uws.deliveriesPerSec).toFixed(3));
    metrics.switchyard_vs_socketio_raw = Number((figures.switchyard.deliveriesPerSec / figures.socketio.deliveriesPerSec).toFixed(2));
    for (const [name, f] of Object.entries(figures)) {
      if (f.serverCpuPct < 80) console.log(`note: ${name} server at ${fmt(f.serverCpuPct)} % of a core with the machine at ${fmt(f.machineCpuPct)} %: the box, not the server, was the limit`);
    }
    const targets: Record<string, Target> = {
      switchyard_vs_uws: { min: 0.8 },
      switchyard_vs_socketio: { min: 5 },
      switchyard_rss_per_idle_conn_kb: { max: 8 },
      // Validity: every delivery arrived; no socket was closed or got a stray event.
      switchyard_lost_or_closed: { max: 0 },
      uws_lost_or_closed: { max: 0 },
      socketio_lost_or_closed: { max: 0 },
    };
    return reportResult('ws', metrics, targets).pass ? 0 : 1;
  } finally {
    await Promise.all(clients.map((c) => stopChild(c.child, 5_000)));
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
