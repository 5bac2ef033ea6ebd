import './helpers/guard.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { sleep, waitFor } from './helpers/wait.js';

async function getUsage(gw: TestGateway, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.http}/api/usage`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

describe('gateway: sessions and usage (SPEC §5 usage pool)', () => {
  let gw: TestGateway;
  let token: string;
  before(async () => {
    gw = await startGateway();
    token = await gw.token('observer');
  });
  after(() => gw.close());

  test('opening a socket creates its session; a disconnect removes session and usage at once', async () => {
    const client = await gw.connect('alice', { role: 'admin' });
    await client.request('heartbeat');
    assert.equal(await gw.coordination.sessions.count(), 1);
    await client.request('usage', { action: 'chat', model: 'gpt-x', chat_id: 'c1' });
    const sessions = await gw.coordination.usage.sessionsOf('gpt-x');
    assert.equal(sessions.length, 1);
    const session = await gw.coordination.sessions.get(sessions[0]!);
    assert.equal(session?.userId, 'alice');
    assert.equal(session?.role, 'admin');

    client.close();
    await client.waitClosed();
    await gw.gateway.settled();
    assert.equal(await gw.coordination.sessions.get(sessions[0]!), null, 'session removed on close');
    assert.deepEqual(await gw.coordination.usage.models(), [], 'usage removed on close, not at the next sweep');
    assert.equal(await gw.coordination.usage.size(), 0);
  });

  test('/api/usage lists models in use and the user count, and needs a signed-in user', async () => {
    const a1 = await gw.connect('alice');
    const a2 = await gw.connect('alice');
    const b = await gw.connect('bob');
    await a1.request('usage', { action: 'chat', model: 'llama', chat_id: 'c1' });
    await b.request('usage', { action: 'chat', model: 'mistral', chat_id: 'c2' });
    const usage = await getUsage(gw, token);
    assert.equal(usage.status, 200);
    assert.deepEqual([...usage.body.model_ids].sort(), ['llama', 'mistral']);
    assert.equal(usage.body.user_count, 2, 'two users, three sockets');
    const anonymous = await fetch(`${gw.http}/api/usage`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await anonymous.json(), { error: { code: 'SWY_UNAUTHORIZED', message: 'token missing' } });
    for (const c of [a1, a2, b]) c.close();
    await Promise.all([a1, a2, b].map((c) => c.waitClosed()));
    await gw.gateway.settled();
    assert.deepEqual(await getUsage(gw, token).then((u) => u.body), { model_ids: [], user_count: 0 });
  });

  test('a usage entry not refreshed for 3 s is gone after a sweep; a refreshed one stays', async () => {
    const stale = await gw.connect('carol');
    const fresh = await gw.connect('dave');
    await stale.request('usage', { action: 'chat', model: 'stale-model', chat_id: 'c3' });
    await fresh.request('usage', { action: 'chat', model: 'fresh-model', chat_id: 'c4' });
    assert.deepEqual([...(await getUsage(gw, token)).body.model_ids].sort(), ['fresh-model', 'stale-model']);
    // Dave keeps using his model; Carol's socket stays open but stops marking.
    const deadline = Date.now() + 3_100;
    while (Date.now() < deadline) {
      await fresh.request('usage', { action: 'chat', model: 'fresh-model', chat_id: 'c4' });
      await sleep(500);
    }
    const removed = await gw.coordination.usage.sweep(Date.now() - 3_000, 1_000);
    assert.equal(removed, 1);
    assert.deepEqual((await getUsage(gw, token)).body.model_ids, ['fresh-model']);
    assert.ok(stale.isOpen, 'the sweep touches the pool, not the socket');
    stale.close();
    fresh.close();
  });

  test('heartbeat puts back a session a sweep removed while the socket stayed open', async () => {
    const client = await gw.connect('erin');
    await client.request('heartbeat');
    const swept = await gw.coordination.sessions.sweepIdle(Date.now() + 1, 100);
    assert.ok(swept.length >= 1);
    assert.equal(await gw.coordination.sessions.userCount(), 0);
    await client.request('heartbeat');
    await waitFor(async () => (await gw.coordination.sessions.userCount()) === 1, { what: 'session re-created' });
    client.close();
  });
});
