import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config/loadConfig.js';
import { Runtime } from '../../src/runtime.js';
import { exitOf, reapOnExit, terminate } from './child.js';
import { storageEnv, storageOverrides, trackForTeardown } from './testStorage.js';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

/** Short timings so leader changes and expiries happen within a test's patience. */
export const FAST_PRESENCE = {
  usageTimeoutMs: 200,
  sessionTimeoutMs: 1_000,
  lockTimeoutMs: 1_000,
  lockRetryMs: 100,
  sweepBatch: 1_000,
} as const;

/** A log sink that keeps every JSON line, for assertions (and secret scans). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    done();
  }
  parsed(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface TestRuntime {
  readonly runtime: Runtime;
  readonly logs: LogCapture;
}

/**
 * An in-process runtime on port 0 with a temp data dir and captured logs. Stop it in after().
 * Under SWITCHYARD_TEST_STORAGE=postgres it stores in PostgreSQL (testStorage.ts) unless
 * `overrides` chooses the storage.
 */
export async function startRuntime(overrides: Record<string, unknown> = {}, opts: { gateway?: boolean; ingestWorkerFilename?: string } = {}): Promise<TestRuntime> {
  const dataDir = (overrides.dataDir as string | undefined) ?? mkdtempSync(join(tmpdir(), 'swy-data-'));
  const config = loadConfig(
    {},
    {
      port: 0,
      host: '127.0.0.1',
      jwtSecret: TEST_SECRET,
      shutdownTimeoutMs: 5_000,
      ...overrides,
      dataDir,
      ...storageOverrides(dataDir, overrides),
    },
  );
  const logs = new LogCapture();
  const runtime = await Runtime.start(config, { logDestination: logs, gateway: opts.gateway, ingestWorkerFilename: opts.ingestWorkerFilename });
  trackForTeardown(runtime);
  // A pass meant to run on PostgreSQL must not pass on SQLite unnoticed.
  if (config.storage !== runtime.storage.kind) throw new Error(`runtime opened ${runtime.storage.kind} storage, config says ${config.storage}`);
  return { runtime, logs };
}

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;

/** A switchyard instance in its own process (`node dist/src/main.js`), for kill -9 tests. */
export class ChildInstance {
  readonly lines: string[] = [];
  port = 0;
  instanceId = '';
  private exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    this.exited = exitOf(child);
    reapOnExit(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Starts an instance with the given env (on top of a minimal test env) and waits for its "started" line. */
  static async start(env: Record<string, string>, timeoutMs = 15_000, opts: { launcher?: readonly string[]; nodeArgs?: readonly string[] } = {}): Promise<ChildInstance> {
    const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'swy-data-'));
    // `launcher`: a command that execs node in place, e.g. `ip netns exec <ns>` (helpers/netns.ts),
    // so the child's pid stays node's and SIGKILL reaches the instance itself.
    // `nodeArgs`: flags of node itself, before the script (e.g. `--max-old-space-size=…`).
    const [file, ...args] = [...(opts.launcher ?? []), process.execPath, ...(opts.nodeArgs ?? []), MAIN];
    const child = spawn(file!, args, {
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        PORT: '0',
        JWT_SECRET: TEST_SECRET,
        ...env,
        DATA_DIR: dataDir,
        ...storageEnv(dataDir, env),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance = new ChildInstance(child);
    trackForTeardown({ stop: () => instance.kill() });
    const rl = createInterface({ input: child.stdout! });
    const stderr: string[] = [];
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`instance did not start within ${timeoutMs} ms: ${stderr.join('')}`)), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`instance exited with ${code} before starting: ${stderr.join('')}${instance.lines.join('\n')}`));
      });
      rl.on('line', (line) => {
        instance.lines.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number; instance?: string };
          if (entry.msg === 'switchyard started') {
            instance.port = entry.port ?? 0;
            instance.instanceId = entry.instance ?? '';
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not a JSON line
        }
      });
    }).catch(async (err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
    return instance;
  }

  /** SIGKILL: no shutdown code runs. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for the exit code (bounded). */
  terminate(timeoutMs = 15_000): Promise<number | null> {
    return terminate(this.child, this.exited, timeoutMs);
  }
}
