import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { TokenService } from '../src/auth/tokens.js';
import type { ClusterView } from '../src/dashboard/ClusterStats.js';
import { TestClient } from './helpers/gateway.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';

const tokens = new TokenService(TEST_SECRET);

async function stats(t: TestRuntime, history = false): Promise<ClusterView> {
  const res = await fetch(`http://127.0.0.1:${t.runtime.port}/api/stats${history ? '?history=1' : ''}`, {
    headers: { authorization: `Bearer ${await tokens.sign({ sub: 'ops', role: 'admin' })}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as ClusterView;
}

async function connect(t: TestRuntime, sub: string): Promise<TestClient> {
  return TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub })}` });
}

await describeRedis('dashboard: /api/stats sees the whole cluster', (server) => {
  const clients: TestClient[] = [];
  let a: TestRuntime;
  let b: TestRuntime | null = null;
  after(async () => {
    for (const c of clients) c.terminate();
    await Promise.all([a?.runtime.stop(), b?.runtime.stop()]);
  });

  it('every instance answers with every live instance and the summed figures', async () => {
    // Default presence timings: the test clients send no heartbeats, and their sessions must outlive the test.
    const config = { coordination: 'redis', redisUrl: server.url, redisKeyPrefix: randomPrefix() };
    a = await startRuntime(config);
    b = await startRuntime(config);
    clients.push(await connect(a, 'alice'), await connect(a, 'bob'), await connect(b, 'carol'));
    const bId = b.runtime.instanceId;

    // B's figures reach A over the bus within a few sampling periods.
    const view = await waitFor(
      async () => {
        const v = await stats(a);
        const peer = v.instances.find((i) => i.instanceId === bId);
        return v.instances.length === 2 && peer?.source === 'bus' && peer.stats.connections === 1 && v.cluster.connections === 3 ? v : null;
      },
      { timeoutMs: 8_000, intervalMs: 200, what: 'A to see B over the bus' },
    );
    assert.equal(view.instanceId, a.runtime.instanceId);
    assert.equal(view.coordination, 'redis');
    assert.equal(view.cluster.instances, 2);
    assert.equal(view.instances.find((i) => i.self)?.stats.connections, 2);
    // Exactly one instance holds the cleanup lease, and the view names it.
    assert.ok(view.lease && [a.runtime.instanceId, bId].includes(view.lease.holder));
    assert.equal(view.instances.filter((i) => i.stats['lease.leader'] === 1).length, 1);
    assert.equal(view.cluster['usage.users'], 3);

    // B answers the same cluster totals from its side.
    const fromB = await waitFor(async () => {
      const v = await stats(b!);
      return v.cluster.connections === 3 ? v : null;
    }, { timeoutMs: 8_000, intervalMs: 200, what: 'B to see A' });
    assert.equal(fromB.instances.length, 2);
  });

  it('the history records the cluster figures second by second', async () => {
    const view = await waitFor(
      async () => {
        const v = await stats(a, true);
        return (v.history?.series.instances ?? []).includes(2) ? v : null;
      },
      { timeoutMs: 8_000, intervalMs: 250, what: 'a history sample with two instances' },
    );
    const h = view.history!;
    assert.ok(h.t.every((x, i) => i === 0 || x > h.t[i - 1]!), 'times increase');
    assert.equal(h.series.connections!.length, h.t.length);
  });

  it('an instance that stops leaves the view', async () => {
    await b!.runtime.stop();
    const bId = b!.runtime.instanceId;
    b = null;
    const view = await waitFor(
      async () => {
        const v = await stats(a);
        return v.instances.length === 1 ? v : null;
      },
      { timeoutMs: 8_000, intervalMs: 200, what: 'B to leave the view' },
    );
    assert.equal(view.instances[0]!.instanceId, a.runtime.instanceId);
    assert.ok(!view.instances.some((i) => i.instanceId === bId));
    assert.equal(view.cluster.connections, 2);
  });

  // The harness's after() stops Redis before ours runs; shut down while Redis is still up
  // (ingestion's BullMQ connections otherwise keep reconnecting past the shutdown deadline).
  it('the remaining instance shuts down cleanly', async () => {
    for (const c of clients) c.terminate();
    await a.runtime.stop();
  });
});
