import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { FAST_PRESENCE, startRuntime } from './helpers/runtime.js';
import { sleep } from './helpers/wait.js';

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

await describeRedis(
  'shutdown while Redis is down',
  (server) => {
    it('a cluster-mode runtime stops within its deadline and leaves no socket reconnecting', async () => {
      const before = sockets();
      const t = await startRuntime({ coordination: 'redis', redisUrl: server.url, redisKeyPrefix: randomPrefix(), presence: FAST_PRESENCE, shutdownTimeoutMs: 8_000 });
      await sleep(300);
      await server.kill();
      const t0 = Date.now();
      await t.runtime.stop('test');
      const took = Date.now() - t0;
      assert.ok(took < 8_000 + 1_000, `stop took ${took} ms`);
      await sleep(1_500); // longer than a reconnect attempt: a leaked client would have opened a socket by now
      assert.ok(sockets() <= before, `TCP sockets left open: ${sockets()} (before: ${before}); ${process.getActiveResourcesInfo().join(',')}`);
      await server.restart(); // leave the harness server as it found it
    });
  },
  { needsControl: true },
);
