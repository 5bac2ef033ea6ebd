import './helpers/guard.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { BackendUnavailableError } from '../src/errors.js';
import { createRedisCoordination } from '../src/coordination/redis/index.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/** A call while Redis is down must settle within this (it must not hang). */
const FAIL_FAST_MS = 1_000;
const backoff = { minMs: 50, maxMs: 400 };

await describeRedis(
  'redis faults',
  (server) => {
    it('while Redis is down: ping false, calls reject fast; after restart the bus resubscribes itself', async () => {
      const coord = await createRedisCoordination({ url: server.url, keyPrefix: randomPrefix(), busBackoff: backoff });
      try {
        const changes: boolean[] = [];
        coord.bus.onConnectionChange((up) => changes.push(up));
        const got: string[] = [];
        await coord.bus.subscribe('news', (p) => got.push(p));
        await coord.bus.publish('news', 'before');
        await waitFor(() => got.includes('before'), { what: 'delivery before the outage' });

        await server.kill();
        await waitFor(async () => (await coord.ping()) === false, { what: 'ping false' });
        await waitFor(() => changes.includes(false), { what: 'bus reports the loss' });
        for (const op of [() => coord.sessions.count(), () => coord.lock.acquire('L', 'me', 1_000), () => coord.bus.publish('news', 'lost')]) {
          const started = Date.now();
          await assert.rejects(op(), BackendUnavailableError);
          assert.ok(Date.now() - started < FAIL_FAST_MS, `rejected after ${Date.now() - started} ms`);
        }

        await server.restart();
        await waitFor(() => coord.ping(), { what: 'ping true after restart', timeoutMs: 10_000 });
        await waitFor(() => changes.at(-1) === true, { what: 'bus reports it resubscribed', timeoutMs: 10_000 });
        assert.equal(coord.bus.topicCount(), 1);
        await coord.bus.publish('news', 'after');
        await waitFor(() => got.includes('after'), { what: 'delivery after the restart' });
        assert.deepEqual(got, ['before', 'after']);
      } finally {
        await coord.close();
      }
    });

    it('a subscription made during the outage is subscribed once Redis is back', async () => {
      const coord = await createRedisCoordination({ url: server.url, keyPrefix: randomPrefix(), busBackoff: backoff });
      try {
        await server.kill();
        await waitFor(async () => (await coord.ping()) === false, { what: 'ping false' });
        const got: string[] = [];
        await coord.bus.subscribe('late', (p) => got.push(p)); // must not reject or hang
        await server.restart();
        await waitFor(() => coord.ping(), { what: 'ping true', timeoutMs: 10_000 });
        // Keep publishing until the resubscribe landed: delivery is at-most-once across the gap.
        await waitFor(
          async () => {
            await coord.bus.publish('late', 'hi');
            return got.length > 0;
          },
          { what: 'delivery to a handler added while down', timeoutMs: 10_000, intervalMs: 100 },
        );
      } finally {
        await coord.close();
      }
    });

    it('close() during an outage leaves no handles: the process exits by itself', async () => {
      const entry = new URL('../src/coordination/redis/index.js', import.meta.url).href;
      const script = `
        const { createRedisCoordination } = await import(${JSON.stringify(entry)});
        const coord = await createRedisCoordination({ url: ${JSON.stringify(server.url)}, keyPrefix: 'exit-test', busBackoff: { minMs: 50, maxMs: 100 } });
        await coord.bus.subscribe('t', () => {});
        console.log('ready');
        while (await coord.ping()) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 300)); // let reconnect and resubscribe timers get going
        await coord.close();
        console.log('closed');`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await waitFor(() => out.includes('ready'), { what: 'child connected', timeoutMs: 10_000 });
        await server.kill();
        const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref())]);
        assert.equal(code, 0, `child exit: ${code}; output: ${out}`);
        assert.match(out, /closed/);
      } finally {
        if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
        await server.restart();
      }
    });
  },
  { needsControl: true },
);
