import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { reapOnExit } from './child.js';
import { findExecutable, REDIS_SERVER, requireBinary } from './external.js';

/**
 * Redis for tests. A harness-started `redis-server` (binary on PATH) can be killed
 * and restarted on the same port for fault tests; a REDIS_URL server cannot.
 * Without either, Redis suites are skipped loudly — or fail when
 * SWITCHYARD_REQUIRE_REDIS=1 (CI), because a silent skip proves nothing.
 */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** PID of the current redis-server process; null for an external REDIS_URL. */
  readonly pid: number | null;
  /** False for REDIS_URL: kill() and restart() throw. */
  readonly controllable: boolean;
  /** SIGKILL, then waits for the process to exit. */
  kill(): Promise<void>;
  /** Starts again on the same port and waits until it answers PING. */
  restart(): Promise<void>;
  /** Kills the process if running; idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 5_000;

export function randomPrefix(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}

export async function startRedis(): Promise<RedisServer | null> {
  if (findExecutable(REDIS_SERVER.candidates)) return SpawnedRedis.start(await freePort());
  const url = process.env.REDIS_URL;
  if (url) return externalRedis(url);
  requireBinary(REDIS_SERVER); // throws under SWITCHYARD_REQUIRE_REDIS=1, else prints the !!! line
  return null;
}

/**
 * A suite that needs Redis. Use with top-level await: `await describeRedis('x', (server) => { … })`.
 * The body registers tests knowing the server; it is stopped in after(). Without Redis,
 * one skipped test stands in so the skip shows in the totals.
 */
export async function describeRedis(name: string, fn: (server: RedisServer) => void, opts: { needsControl?: boolean } = {}): Promise<void> {
  const server = await startRedis();
  if (!server) {
    describe(name, () => it('needs Redis', { skip: 'no Redis available (see the !!! line above)' }, () => {}));
    return;
  }
  if (opts.needsControl && !server.controllable) {
    describe(name, () => it('needs a harness-started redis-server', { skip: 'REDIS_URL server cannot be killed/restarted' }, () => {}));
    return;
  }
  describe(name, () => {
    fn(server);
    // Registered last so it runs after the suite's own after() hooks: runtimes must stop while Redis is still up.
    after(() => server.stop());
  });
}

class SpawnedRedis implements RedisServer {
  private child: ChildProcess | null = null;
  readonly url: string;
  readonly controllable = true;

  private constructor(readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(firstPort: number): Promise<SpawnedRedis> {
    for (let attempt = 1; ; attempt++) {
      const server = new SpawnedRedis(attempt === 1 ? firstPort : await freePort());
      try {
        await server.spawn();
        return server;
      } catch (err) {
        if (attempt >= 3) throw err; // e.g. the port was taken between freePort() and spawn
      }
    }
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  async stop(): Promise<void> {
    await this.kill();
  }

  private async spawn(): Promise<void> {
    const args = ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--port', String(this.port)];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    reapOnExit(child); // a test process that exits before after() runs never leaves a server behind
    if (child.pid !== undefined) watchParent(child.pid);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while ((await serverPid(this.port)) !== child.pid) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${this.port}`);
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`redis-server on port ${this.port} did not answer PING within ${READY_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** How often the watchdog looks for its two processes (s); it costs one `sleep` fork per period. */
const WATCHDOG_PERIOD_S = 0.5;
// $1 = test process, $2 = redis-server. Ends when either is gone; kills redis only if the test process went first.
const WATCHDOG = `while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep ${WATCHDOG_PERIOD_S}; done; kill -0 "$1" 2>/dev/null || kill -9 "$2" 2>/dev/null`;

/**
 * reapOnExit cannot run when the test process is SIGKILLed (or the runner's timeout kills it):
 * a detached shell loop outlives it and kills that redis-server by PID once the parent is gone.
 */
function watchParent(redisPid: number): void {
  const dog = spawn('/bin/sh', ['-c', WATCHDOG, 'redis-watchdog', String(process.pid), String(redisPid)], { detached: true, stdio: 'ignore' });
  dog.on('error', () => {}); // no /bin/sh: reapOnExit still covers ordinary exits
  dog.unref();
}

function externalRedis(url: string): RedisServer {
  const unavailable = async () => {
    throw new Error('REDIS_URL server cannot be killed or restarted by the tests');
  };
  return { url, port: Number(new URL(url).port || 6379), pid: null, controllable: false, kill: unavailable, restart: unavailable, stop: async () => {} };
}

/** The OS picks a free port for a listener on 0; closing it frees the port for the caller's server. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The pid of the redis-server answering on `port` (raw RESP `INFO server`), or null.
 * Readiness checks the pid, not just PING: two test files may be handed the same free
 * port, and the second server then exits while the first one answers.
 */
async function serverPid(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (pid: number | null) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(500, () => done(null));
    socket.once('error', () => done(null));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const m = /process_id:(\d+)/.exec(reply);
      if (m) done(Number(m[1]));
    });
  });
}
