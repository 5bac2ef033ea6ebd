import './helpers/guard.js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { exitOf, reapOnExit, terminate } from './helpers/child.js';
import { describeRedis, freePort, randomPrefix } from './helpers/redis.js';
import { TEST_SECRET } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';

const CLUSTER = new URL('../src/cluster.js', import.meta.url).pathname;

/** `node dist/src/cluster.js` with its stdout (its own and every worker's JSON lines) captured. */
class Launcher {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    this.exited = exitOf(child);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a JSON line
      }
    });
    child.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    reapOnExit(child); // never leave a launcher behind
  }

  static start(env: Record<string, string>): Launcher {
    const child = spawn(process.execPath, [CLUSTER], {
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', JWT_SECRET: TEST_SECRET, DATA_DIR: mkdtempSync(join(tmpdir(), 'swy-cluster-')), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Launcher(child);
  }

  /** PIDs of workers that logged "switchyard started". */
  startedPids(): number[] {
    return this.lines.filter((l) => l.msg === 'switchyard started').map((l) => l.pid as number);
  }

  stop(timeoutMs = 20_000): Promise<number | null> {
    return terminate(this.child, this.exited, timeoutMs);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One GET on a fresh TCP connection (no keep-alive), so each request may land on another worker. */
function healthz(port: number): Promise<{ status: number; body: { status?: string; instance?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 2_000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { instance?: string } }));
    });
    req.once('timeout', () => req.destroy(new Error('healthz timed out')));
    req.once('error', reject);
    req.end();
  });
}

test('a bad cluster setting fails once at start with the key named (exit 78), no worker started', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: '0', REDIS_URL: 'redis://127.0.0.1:1' }, /port \(from PORT\) = 0/],
    [{ PORT: '8080', COORDINATION: 'memory' }, /coordination.*"memory".*needs "redis"/],
    [{ PORT: '8080', REDIS_URL: 'redis://127.0.0.1:1', CLUSTER_WORKERS: 'two' }, /CLUSTER_WORKERS = "two"/],
  ];
  for (const [env, message] of cases) {
    const launcher = Launcher.start(env);
    const code = await Promise.race([launcher.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (code === 'timeout') await launcher.stop();
    assert.equal(code, 78, `exit code for ${JSON.stringify(env)}`);
    assert.match(launcher.stderr.join(''), message);
    assert.deepEqual(launcher.startedPids(), []);
  }
});

await describeRedis('cluster launcher (2 workers, one port, one Redis)', (redis) => {
  let launcher: Launcher | null = null;
  after(async () => {
    await launcher?.stop();
  });

  test('both workers answer on the shared port; a killed worker is restarted; SIGTERM stops all', { timeout: 90_000 }, async () => {
    const port = await freePort();
    launcher = Launcher.start({ PORT: String(port), CLUSTER_WORKERS: '2', REDIS_URL: redis.url, REDIS_KEY_PREFIX: randomPrefix() });
    const [first, second] = await waitFor(
      () => {
        const pids = launcher!.startedPids();
        return pids.length >= 2 ? pids : null;
      },
      {
      timeoutMs: 30_000,
        what: `two workers started: ${launcher.stderr.join('')}`,
      },
    );
    assert.notEqual(first, second);

    // SO_REUSEPORT hashes each new connection's 4-tuple onto one of the listeners.
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const { status, body } = await healthz(port);
        assert.equal(status, 200);
        seen.add(body.instance!);
        return seen.size >= 2;
      },
      { timeoutMs: 15_000, intervalMs: 0, what: 'healthz answers from two different instances' },
    );
    assert.equal(seen.size, 2);

    // A crash (SIGKILL: no shutdown code runs) is noticed and the slot refilled.
    process.kill(first!, 'SIGKILL');
    const restarted = await waitFor(() => launcher!.startedPids().find((pid) => pid !== first && pid !== second), {
      timeoutMs: 20_000,
      what: 'a replacement worker',
    });
    assert.ok(launcher.lines.some((l) => l.msg === 'worker died: restarting' && l.signal === 'SIGKILL'));
    await waitFor(async () => (await healthz(port)).status === 200, { timeoutMs: 5_000, what: 'port still served' });

    const code = await launcher.stop();
    assert.equal(code, 0, 'every worker shut down gracefully');
    for (const pid of [second!, restarted]) assert.equal(alive(pid), false, `worker ${pid} is gone`);
    assert.ok(launcher.lines.some((l) => l.msg === 'all workers exited'));
    await assert.rejects(healthz(port), 'nothing listens on the port any more');
  });
});
