import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { TokenService } from '../src/auth/tokens.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { ChildInstance, TEST_SECRET } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';

const tokens = new TokenService(TEST_SECRET);

function entries(instance: ChildInstance): Array<Record<string, unknown>> {
  return instance.lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

async function openSocket(port: number, token: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

describe('process lifecycle (npm start = node dist/src/main.js)', () => {
  const children: ChildInstance[] = [];
  after(() => Promise.all(children.map((c) => c.kill())));

  it('starts with embedded defaults, logs its backends and transport, and exits 0 on SIGTERM with sockets told going-away', async () => {
    const instance = await ChildInstance.start({ LOG_LEVEL: 'info' });
    children.push(instance);
    const logs = entries(instance);
    assert.ok(logs.some((e) => e.msg === 'coordination backend ready' && e.coordination === 'memory'));
    const started = logs.find((e) => e.msg === 'switchyard started');
    assert.ok(started);
    assert.ok(logs.some((e) => JSON.stringify(e).includes('native')), 'the uWS transport is logged');

    const { closed } = await openSocket(instance.port, await tokens.sign({ sub: 'alice' }));
    const t0 = Date.now();
    const code = await instance.terminate();
    assert.equal(code, 0, `exit code; last lines:\n${instance.lines.slice(-5).join('\n')}`);
    assert.equal(await closed, 1001, 'the socket was closed with going-away');
    assert.ok(Date.now() - t0 < 10_000, 'exited within the shutdown deadline');
    assert.ok(entries(instance).some((e) => e.msg === 'stopped'));
  });

  it('starts under node flags an operator passes (V8 heap and GC flags, a profiler): the worker threads do not refuse them', async () => {
    // A Worker given an explicit execArgv rejects V8's flags; the storage thread once failed the start with them.
    const instance = await ChildInstance.start({ LOG_LEVEL: 'info' }, 15_000, { nodeArgs: ['--max-old-space-size=2048', '--stack-size=2000', '--no-warnings'] });
    children.push(instance);
    const res = await fetch(`http://127.0.0.1:${instance.port}/readyz`);
    assert.equal(res.status, 200, 'ready: the storage thread and the pool started');
    assert.equal(await instance.terminate(), 0);
  });

  it('refuses to start on the uWS JS fallback unless SWITCHYARD_ALLOW_UWS_FALLBACK=1, and says which transport serves', async () => {
    // UWS_USE_FALLBACK makes the package load its JS implementation, as a Node without a matching binary would.
    await assert.rejects(ChildInstance.start({ UWS_USE_FALLBACK: '1' }, 10_000), /allowUwsFallback/);
    const instance = await ChildInstance.start({ UWS_USE_FALLBACK: '1', SWITCHYARD_ALLOW_UWS_FALLBACK: '1' });
    children.push(instance);
    assert.equal(entries(instance).find((e) => e.msg === 'switchyard started')?.transport, 'fallback');
    assert.equal(await instance.terminate(), 0);
  });

  it('npm run token mints a token the server accepts', async () => {
    const { execFileSync } = await import('node:child_process');
    const cli = new URL('../src/cli.js', import.meta.url).pathname;
    const out = execFileSync(process.execPath, [cli, 'token', '--sub', 'carol', '--role', 'admin'], {
      env: { PATH: process.env.PATH, JWT_SECRET: TEST_SECRET },
      encoding: 'utf8',
      timeout: 10_000,
    });
    const verified = await tokens.verify(out.trim());
    assert.ok(verified.ok);
    assert.deepEqual(verified.principal, { userId: 'carol', name: 'carol', role: 'admin' });
    const instance = await ChildInstance.start({});
    children.push(instance);
    const res = await fetch(`http://127.0.0.1:${instance.port}/api/usage`, { headers: { authorization: `Bearer ${out.trim()}` } });
    assert.equal(res.status, 200);
    assert.throws(() => execFileSync(process.execPath, [cli, 'token', '--sub', 'x', '--role', 'root'], { env: { PATH: process.env.PATH, JWT_SECRET: TEST_SECRET }, stdio: 'pipe' }), /--role must be user or admin/);
  });

  it('refuses to start on a bad config value, naming key, value and rule', async () => {
    await assert.rejects(ChildInstance.start({ PORT: 'eighty' }, 10_000), /port \(from PORT\) = "eighty"/);
  });
});

await describeRedis('process lifecycle in cluster mode', (server) => {
  const children: ChildInstance[] = [];
  after(() => Promise.all(children.map((c) => c.kill())));

  it('SIGTERM releases the cleanup lease at once (no wait for its TTL)', async () => {
    const prefix = randomPrefix();
    const instance = await ChildInstance.start({ REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix, WEBSOCKET_REDIS_LOCK_TIMEOUT: '60' });
    children.push(instance);
    const redis = new Redis(server.url);
    try {
      await waitFor(async () => (await redis.get(`${prefix}:usage_cleanup_lock`)) === instance.instanceId, { what: 'the lease' });
      assert.ok((await redis.zscore(`${prefix}:instances`, instance.instanceId)) !== null, 'registered as a live instance');
      assert.equal(await instance.terminate(), 0);
      assert.equal(await redis.get(`${prefix}:usage_cleanup_lock`), null, 'lease released');
      assert.equal(await redis.zscore(`${prefix}:instances`, instance.instanceId), null, 'deregistered');
    } finally {
      redis.disconnect();
    }
  });
});
