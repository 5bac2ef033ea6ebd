#!/usr/bin/env node
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Env } from './config/loadConfig.js';
import { ConfigError, errorMessage } from './errors.js';
import type { LevelWithSilent } from 'pino';
import { LogFactory, type Logger } from './observability/logger.js';

/**
 * `npm run start:cluster`: N switchyard instances (`dist/src/main.js`) as child
 * processes on ONE port and ONE Redis. uWS listens with SO_REUSEPORT on Linux, so
 * every child binds the same port and the kernel spreads connections over them;
 * rooms, sessions, usage and the cleanup lease are shared through Redis.
 *
 * Env (read here, at the edge): `CLUSTER_WORKERS` (default: one per core),
 * `REDIS_URL` (default `redis://127.0.0.1:6379`, logged), and everything `main.js`
 * reads, passed through unchanged.
 */

export interface ClusterOptions {
  /** Child processes to keep running. @default os.availableParallelism() */
  readonly workers: number;
  /** First restart delay after a crash; doubles per crash in a row. @default 1_000 ms */
  readonly restartMinMs: number;
  /** Cap of the restart delay. @default 30_000 ms */
  readonly restartMaxMs: number;
  /** A child up this long counts as healthy: its next crash restarts after `restartMinMs` again. @default 30_000 ms */
  readonly stableAfterMs: number;
  /** After SIGTERM, children still running this long are SIGKILLed. @default shutdownTimeoutMs + 5_000 ms */
  readonly stopTimeoutMs: number;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** main.js exits with EX_CONFIG on a bad config: restarting cannot help. */
const EX_CONFIG = 78;

interface Slot {
  readonly index: number;
  child: ChildProcess | null;
  startedAt: number;
  /** Crashes in a row (reset once a child stayed up `stableAfterMs`). */
  crashes: number;
  restartTimer: NodeJS.Timeout | null;
}

export class Cluster {
  private readonly slots: Slot[];
  private stopping = false;
  private readonly exitCodes: Array<number | null> = [];
  private resolveDone: (code: number) => void = () => {};
  /** Resolves with the launcher's exit code once every child is gone after stop(). */
  readonly done: Promise<number>;

  constructor(
    private readonly options: ClusterOptions,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
  ) {
    this.slots = Array.from({ length: options.workers }, (_, index) => ({ index, child: null, startedAt: 0, crashes: 0, restartTimer: null }));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(): void {
    for (const slot of this.slots) this.spawn(slot);
  }

  /** Forwards `signal` to every child, waits for them (bounded), then resolves `done`. Idempotent. */
  stop(signal: NodeJS.Signals): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info({ signal, workers: this.live().length }, 'stopping: forwarding the signal to every worker');
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      slot.child?.kill(signal);
    }
    const killer = setTimeout(() => {
      const left = this.live();
      this.log.error({ pids: left.map((c) => c.pid), timeoutMs: this.options.stopTimeoutMs }, 'workers did not exit in time: SIGKILL');
      for (const child of left) child.kill('SIGKILL');
    }, this.options.stopTimeoutMs);
    killer.unref();
    this.settleIfDone();
  }

  /** Second signal: no more waiting. */
  kill(): void {
    for (const child of this.live()) child.kill('SIGKILL');
  }

  private live(): ChildProcess[] {
    return this.slots.flatMap((s) => (s.child ? [s.child] : []));
  }

  private spawn(slot: Slot): void {
    slot.restartTimer = null;
    // stdout/stderr inherited: each child's JSON lines carry its own instance id.
    const child = spawn(process.execPath, [...process.execArgv, MAIN], { env: this.env, stdio: ['ignore', 'inherit', 'inherit'] });
    slot.child = child;
    slot.startedAt = Date.now();
    this.log.info({ worker: slot.index, pid: child.pid }, 'worker started');
    child.once('error', (err) => this.log.error({ worker: slot.index, err: errorMessage(err) }, 'worker could not be spawned'));
    child.once('exit', (code, signal) => this.onExit(slot, child, code, signal));
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child === child) slot.child = null;
    if (this.stopping) {
      this.exitCodes.push(code);
      this.log.info({ worker: slot.index, pid: child.pid, code, signal }, 'worker exited');
      this.settleIfDone();
      return;
    }
    if (code === EX_CONFIG) {
      this.log.fatal({ worker: slot.index, code }, 'worker refused its configuration: stopping the cluster');
      this.stop('SIGTERM');
      return;
    }
    const upMs = Date.now() - slot.startedAt;
    slot.crashes = upMs >= this.options.stableAfterMs ? 1 : slot.crashes + 1;
    const delayMs = Math.min(this.options.restartMaxMs, this.options.restartMinMs * 2 ** (slot.crashes - 1));
    this.log.warn({ worker: slot.index, pid: child.pid, code, signal, upMs, restartInMs: delayMs }, 'worker died: restarting');
    slot.restartTimer = setTimeout(() => this.spawn(slot), delayMs);
  }

  private settleIfDone(): void {
    if (!this.stopping || this.live().length > 0) return;
    const clean = this.exitCodes.every((c) => c === 0);
    this.log.info({ clean }, 'all workers exited');
    this.resolveDone(clean ? 0 : 1);
  }
}

function parseWorkers(raw: string | undefined): number {
  if (raw === undefined || raw === '') return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new ConfigError(`CLUSTER_WORKERS = ${JSON.stringify(raw)}: must be a whole number from 1 to 256`);
  }
  return n;
}

/** Validates what the children will load, so a bad setting fails once here, not N times in a restart loop. */
function prepare(env: Env): { options: ClusterOptions; env: NodeJS.ProcessEnv; defaultedRedis: boolean; logLevel: LevelWithSilent } {
  const defaultedRedis = !env.REDIS_URL;
  const childEnv: NodeJS.ProcessEnv = { ...env, REDIS_URL: env.REDIS_URL || DEFAULT_REDIS_URL };
  const config = loadConfig(childEnv);
  if (config.coordination !== 'redis') {
    throw new ConfigError(`coordination (from COORDINATION) = "${config.coordination}": cluster mode needs "redis" (instances share state through it)`);
  }
  if (config.port === 0) {
    throw new ConfigError('port (from PORT) = 0: cluster mode needs a fixed port that every worker shares');
  }
  const options: ClusterOptions = {
    workers: parseWorkers(env.CLUSTER_WORKERS),
    restartMinMs: 1_000,
    restartMaxMs: 30_000,
    stableAfterMs: 30_000,
    stopTimeoutMs: config.shutdownTimeoutMs + 5_000,
  };
  return { options, env: childEnv, defaultedRedis, logLevel: config.log.level };
}

function main(): void {
  let prepared: ReturnType<typeof prepare>;
  try {
    prepared = prepare(process.env);
  } catch (err) {
    process.stderr.write(`switchyard cluster: ${err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
    process.exit(EX_CONFIG);
  }
  const logs = new LogFactory({ level: prepared.logLevel, components: {}, instanceId: `cluster-${process.pid}` });
  const log = logs.forComponent('cluster');
  if (prepared.defaultedRedis) log.warn({ redisUrl: DEFAULT_REDIS_URL }, `REDIS_URL is not set: using ${DEFAULT_REDIS_URL}`);
  const redisHost = new URL(prepared.env.REDIS_URL!).host; // host only: a URL may carry a password
  log.info({ workers: prepared.options.workers, port: prepared.env.PORT ?? 'config', redis: redisHost }, 'starting cluster');

  const cluster = new Cluster(prepared.options, prepared.env, log);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: killing every worker now');
      cluster.kill();
      return;
    }
    cluster.stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  void cluster.done.then((code) => {
    logs.flush();
    process.exit(signals > 1 ? 130 : code);
  });
  cluster.start();
}

main();
