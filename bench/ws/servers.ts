import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DialectName } from './dialects.js';

/** A server under test, in its own process so its CPU and RSS can be read from /proc. */
export interface ServerProcess {
  readonly name: DialectName;
  readonly pid: number;
  readonly port: number;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once it exited. */
  stop(timeoutMs?: number): Promise<void>;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const START_TIMEOUT_MS = 20_000;

/**
 * switchyard as shipped (`node dist/src/main.js`), memory coordination, with every
 * per-socket and per-IP rate limit raised far above the load so the limiter is not
 * what is measured; backpressure and payload limits stay at their defaults.
 */
function switchyardCommand(secret: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'swy-bench-ws-'));
  const configFile = join(dir, 'bench.json');
  // upgradeBurstPerIp has no env name: 10,000 sockets open from four loopback addresses within seconds.
  writeFileSync(configFile, JSON.stringify({ gateway: { upgradeBurstPerIp: 1_000_000, maxRateViolations: 1_000_000 } }));
  return {
    args: [here('../../src/main.js')],
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dir,
      JWT_SECRET: secret,
      COORDINATION: 'memory',
      SWITCHYARD_CONFIG: configFile,
      WS_MESSAGES_PER_SECOND: '1000000',
      WS_MESSAGE_BURST: '1000000',
      WS_UPGRADES_PER_SECOND_PER_IP: '1000000',
      LOG_LEVEL: 'info',
    },
  };
}

export async function startServer(name: DialectName, secret: string): Promise<ServerProcess> {
  const { args, env } =
    name === 'switchyard'
      ? switchyardCommand(secret)
      : { args: [here(name === 'uws' ? './bareUwsServer.js' : './socketioServer.js')], env: { JWT_SECRET: secret } };
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} server did not start within ${START_TIMEOUT_MS} ms: ${stderr.join('')}`)), START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} server exited with ${code} before listening: ${stderr.join('')}`));
    });
    // Keep reading stdout for the whole run: a full pipe would block the server's log writes.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if ((name === 'switchyard' && entry.msg === 'switchyard started') || (name !== 'switchyard' && entry.port)) {
          clearTimeout(timer);
          resolve(entry.port!);
        }
      } catch {
        // not a JSON line
      }
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { name, pid: child.pid!, port, stop: (timeoutMs = 15_000) => stopChild(child, timeoutMs) };
}

export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
