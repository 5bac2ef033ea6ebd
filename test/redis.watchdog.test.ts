import './helpers/guard.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { exitOf, reapOnExit } from './helpers/child.js';
import { describeWithBinary, REDIS_SERVER } from './helpers/external.js';
import { waitFor } from './helpers/wait.js';
import { withDeadline } from '../src/util/deadline.js';

const HELPER = new URL('./helpers/redis.js', import.meta.url).href;
/** The watchdog polls every 0.5 s; a loaded 2-core machine gets generous slack. */
const GONE_WITHIN_MS = 15_000;

/** Alive and not a zombie (a reaped-later corpse still answers kill -0). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describeWithBinary('redis-server watchdog', REDIS_SERVER, () => {
  describe('a test process killed with SIGKILL', () => {
    it('leaves no redis-server behind', async () => {
      // A stand-in test process: starts Redis through the helper, prints its pid, then idles.
      const script = `import { startRedis } from ${JSON.stringify(HELPER)};
        const r = await startRedis();
        console.log('REDIS_PID ' + r.pid);
        setInterval(() => {}, 1_000);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      reapOnExit(child);
      const exited = exitOf(child);
      const lines = createInterface({ input: child.stdout! });
      const announced = new Promise<number>((resolve) => {
        lines.on('line', (line) => {
          const m = /^REDIS_PID (\d+)$/.exec(line);
          if (m) resolve(Number(m[1]));
        });
      });
      const pid = await withDeadline(announced, 15_000, () => new Error('the child did not start redis-server'));
      assert.ok(alive(pid), 'redis-server runs while its test process lives');

      child.kill('SIGKILL'); // no exit handler runs: only the watchdog can clean up
      await exited;
      await waitFor(() => !alive(pid), { timeoutMs: GONE_WITHIN_MS, intervalMs: 100, what: `redis-server ${pid} to be killed by the watchdog` });
    });
  });

  describe('a redis-server stopped by its test', () => {
    it('takes its watchdog with it, and the watchdog never kills anything else', async () => {
      const { startRedis } = (await import(HELPER)) as typeof import('./helpers/redis.js');
      const server = (await startRedis())!;
      const pid = server.pid!;
      const dogs = () => watchdogsOf(pid);
      await waitFor(() => dogs().length === 1, { timeoutMs: 5_000, what: 'one watchdog for the server' });
      await server.stop();
      await waitFor(() => dogs().length === 0, { timeoutMs: GONE_WITHIN_MS, intervalMs: 100, what: 'the watchdog to exit' });
      assert.ok(alive(process.pid));
    });
  });
});

/** PIDs of watchdog shells whose arguments name `redisPid` (read from /proc). */
function watchdogsOf(redisPid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('redis-watchdog') && args.includes(String(redisPid))) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
