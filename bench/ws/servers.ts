import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** What runs in the server process. */
export type ServerKind = 'uws' | 'socketio' | 'switchyard';

export interface ServerOptions {
  readonly kind: ServerKind;
  /** Names the server in logs and its profile directory (unique in a run). */
  readonly label: string;
  /** switchyard: Redis coordination on this server; socket.io: `@socket.io/redis-adapter` on it. */
  readonly redisUrl?: string;
  /** Key prefix on that Redis, shared by the instances of one cluster. */
  readonly redisPrefix?: string;
}

/** A server under test, in its own process so its CPU and RSS can be read from /proc. */
export interface ServerProcess {
  readonly label: string;
  readonly pid: number;
  readonly port: number;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once it exited. */
  stop(timeoutMs?: number): Promise<void>;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const START_TIMEOUT_MS = 20_000;

/**
 * switchyard as shipped (`node dist/src/main.js`), memory or Redis coordination, with every
 * per-socket and per-IP rate limit raised far above the load so the limiter is not
 * what is measured; backpressure and payload limits stay at their defaults.
 */
function switchyardEnv(secret: string, options: ServerOptions): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'swy-bench-ws-'));
  const configFile = join(dir, 'bench.json');
  // upgradeBurstPerIp has no env name: 10,000 sockets open from four loopback addresses within seconds.
  writeFileSync(configFile, JSON.stringify({ gateway: { upgradeBurstPerIp: 1_000_000, maxRateViolations: 1_000_000 } }));
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dir,
    JWT_SECRET: secret,
    COORDINATION: options.redisUrl ? 'redis' : 'memory',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: options.redisPrefix ?? 'bench' } : {}),
    SWITCHYARD_CONFIG: configFile,
    WS_MESSAGES_PER_SECOND: '1000000',
    WS_MESSAGE_BURST: '1000000',
    WS_UPGRADES_PER_SECOND_PER_IP: '1000000',
    // The load joins shared channels as many users (the peers' rooms are open): no member lists to set up.
    ROOMS_OPEN: '1',
    LOG_LEVEL: 'info',
  };
}

const SCRIPTS: Record<ServerKind, string> = { uws: './bareUwsServer.js', socketio: './socketioServer.js', switchyard: '../../src/main.js' };

/** Starts the server; `nodeArgs` go before the script (e.g. `--cpu-prof`). */
export async function startServer(options: ServerOptions, secret: string, nodeArgs: readonly string[] = []): Promise<ServerProcess> {
  const { kind, label } = options;
  const env: NodeJS.ProcessEnv =
    kind === 'switchyard'
      ? switchyardEnv(secret, options)
      : { JWT_SECRET: secret, ...(options.redisUrl ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: options.redisPrefix ?? 'bench' } : {}) };
  const child = spawn(process.execPath, [...nodeArgs, here(SCRIPTS[kind])], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} server did not start within ${START_TIMEOUT_MS} ms: ${stderr.join('')}`)), START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} server exited with ${code} before listening: ${stderr.join('')}`));
    });
    // Keep reading stdout for the whole run: a full pipe would block the server's log writes.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if ((kind === 'switchyard' && entry.msg === 'switchyard started') || (kind !== 'switchyard' && entry.port)) {
          clearTimeout(timer);
          resolve(entry.port!);
        }
      } catch {
        // Not a JSON line: V8's own output (e.g. --trace-gc through WS_BENCH_SERVER_ARGS) is passed on.
        if (nodeArgs.length > 0) process.stderr.write(`[${label}] ${line}\n`);
      }
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  if (kind === 'switchyard') await untilReady(label, port);
  return { label, pid: child.pid!, port, stop: (timeoutMs = 15_000) => stopChild(child, timeoutMs) };
}

/** Polls switchyard's `/readyz`: "started" is logged once listening, before every dependency has answered. */
async function untilReady(label: string, port: number): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > until) throw new Error(`${label} not ready within ${START_TIMEOUT_MS} ms (/readyz ${status})`);
    await sleep(100);
  }
}

export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
