import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../lib/freePort.js';
import { stopChild } from '../ws/servers.js';

/** A Yjs server under test, in its own process so /proc can tell its CPU apart from the load's. */
export interface DocsServer {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

export type DocsServerKind = 'switchyard' | 'ywebsocket' | 'hocuspocus';

export interface DocsServerOptions {
  readonly kind: DocsServerKind;
  readonly secret: string;
  /** Redis coordination (switchyard) or extension-redis (Hocuspocus); ignored by y-websocket. */
  readonly redis?: { readonly host: string; readonly port: number; readonly prefix: string };
  /** switchyard only: instances of one cluster share the SQLite file (WAL), as SPEC §1 says. */
  readonly dataDir?: string;
  /** `--cpu-prof` into this directory (BENCH_PROFILE=1). */
  readonly profileDir?: string;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

interface Command {
  readonly args: string[];
  readonly env: NodeJS.ProcessEnv;
  /** The listening port, from one stdout line (or the port chosen in advance). */
  readonly ready: (line: string) => number | null;
}

/**
 * switchyard as shipped (`dist/src/main.js`) with the per-socket and per-IP limits raised
 * far above the load (200 sockets from one address within a second, 20-300 edits/s each):
 * the limiter is not what is measured. Backpressure and payload limits stay at their defaults.
 */
function switchyard(o: DocsServerOptions): Command {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'swy-bench-docs-'));
  const configFile = join(mkdtempSync(join(tmpdir(), 'swy-bench-docs-cfg-')), 'bench.json');
  // DOCS_BENCH_SWITCHYARD_CONFIG: more config (JSON), for trying a setting against the same load.
  const extra = JSON.parse(process.env.DOCS_BENCH_SWITCHYARD_CONFIG ?? '{}') as Record<string, unknown>;
  const gateway = { ...(extra.gateway as object | undefined), upgradeBurstPerIp: 1_000_000, maxRateViolations: 1_000_000 };
  writeFileSync(configFile, JSON.stringify({ ...extra, gateway }));
  const redis = o.redis
    ? { COORDINATION: 'redis', REDIS_URL: `redis://${o.redis.host}:${o.redis.port}`, REDIS_KEY_PREFIX: o.redis.prefix }
    : { COORDINATION: 'memory' };
  return {
    args: [here('../../src/main.js')],
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      JWT_SECRET: o.secret,
      SWITCHYARD_CONFIG: configFile,
      WS_MESSAGES_PER_SECOND: '1000000',
      WS_MESSAGE_BURST: '1000000',
      WS_UPGRADES_PER_SECOND_PER_IP: '1000000',
      LOG_LEVEL: 'info',
      ...redis,
    },
    ready: (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        return entry.msg === 'switchyard started' && entry.port ? entry.port : null;
      } catch {
        return null;
      }
    },
  };
}

/** y-websocket 1.5's own `bin/server.js`, unmodified (in-memory documents, no persistence). */
function ywebsocket(port: number): Command {
  return {
    // bin/ is not in the package's exports map: resolve the package, then walk to it.
    args: [join(dirname(fileURLToPath(import.meta.resolve('y-websocket-1.5/package.json'))), 'bin', 'server.js')],
    env: { HOST: '127.0.0.1', PORT: String(port) },
    ready: (line) => (line.includes('running at') ? port : null),
  };
}

function hocuspocus(o: DocsServerOptions): Command {
  const redis = o.redis ? { REDIS_HOST: o.redis.host, REDIS_PORT: String(o.redis.port), REDIS_PREFIX: o.redis.prefix } : {};
  return {
    args: [here('./hocuspocusServer.js')],
    env: { HOST: '127.0.0.1', PORT: '0', ...redis },
    ready: (line) => {
      try {
        return (JSON.parse(line) as { port?: number }).port ?? null;
      } catch {
        return null;
      }
    },
  };
}

export async function startDocsServer(o: DocsServerOptions): Promise<DocsServer> {
  const command = o.kind === 'switchyard' ? switchyard(o) : o.kind === 'hocuspocus' ? hocuspocus(o) : ywebsocket(await freePort());
  const execArgv: string[] = [];
  if (o.profileDir) {
    rmSync(o.profileDir, { recursive: true, force: true }); // this run's profile only
    mkdirSync(o.profileDir, { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', o.profileDir);
    // y-websocket's server dies on SIGTERM without a normal exit, and then writes no profile.
    if (o.kind === 'ywebsocket') execArgv.push('--import', new URL('./exitOnSigterm.js', import.meta.url).href);
  }
  const child = spawn(process.execPath, [...execArgv, ...command.args], {
    // DOCS_BENCH_SERVER_NODE_OPTIONS: node flags for the servers only (e.g. --perf-basic-prof, to read them with `perf record`).
    env: { PATH: process.env.PATH, NODE_ENV: 'production', NODE_OPTIONS: process.env.DOCS_BENCH_SERVER_NODE_OPTIONS ?? '', ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${o.kind} did not start within ${START_TIMEOUT_MS} ms: ${stderr.join('')}`)), START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${o.kind} exited with ${code} before listening: ${stderr.join('')}`));
    });
    // Read stdout for the whole run: a full pipe would block the server's log writes.
    const tee = process.env.DOCS_BENCH_SERVER_STDOUT; // a file to copy the servers' stdout to (with --trace-* flags)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (tee) appendFileSync(tee, `${line}\n`);
      const p = command.ready(line);
      if (p !== null) {
        clearTimeout(timer);
        resolve(p);
      }
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { pid: child.pid!, port, stop: () => stopChild(child, STOP_TIMEOUT_MS) };
}
