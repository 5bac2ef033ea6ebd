import './helpers/guard.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, TestClient, UpgradeRefused, type TestGateway } from './helpers/gateway.js';

describe('gateway: auth on upgrade (SPEC §4.1)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  /** Opens with the given headers/URL and returns the refusal; fails if the socket ever opened. */
  async function refused(url: string, headers: Record<string, string> = {}): Promise<UpgradeRefused> {
    try {
      const client = await TestClient.open(url, headers);
      client.terminate();
    } catch (err) {
      assert.ok(err instanceof UpgradeRefused, `expected an HTTP refusal, got ${String(err)}`);
      return err;
    }
    assert.fail('the socket opened');
  }

  test('a missing token gets HTTP 401 with a JSON error and no socket', async () => {
    const err = await refused(gw.ws);
    assert.equal(err.status, 401);
    assert.deepEqual(err.body, { error: { code: 'SWY_UNAUTHORIZED', message: 'token missing' } });
    assert.equal(gw.gateway.connectionCount(), 0);
  });

  test('a token signed with another secret gets 401 (invalid)', async () => {
    const forged = await new (await import('../src/auth/tokens.js')).TokenService('another-secret-0123456789').sign({ sub: 'mallory' });
    const err = await refused(gw.ws, { authorization: `Bearer ${forged}` });
    assert.equal(err.status, 401);
    assert.equal(err.body.error.message, 'token invalid');
  });

  test('garbage in ?token= gets 401', async () => {
    const err = await refused(`${gw.ws}?token=not.a.jwt`);
    assert.equal(err.status, 401);
    assert.equal(err.body.error.code, 'SWY_UNAUTHORIZED');
  });

  test('an expired token gets 401 (expired)', async () => {
    const expired = await gw.token('alice', { ttlSeconds: -10 });
    const err = await refused(`${gw.ws}?token=${expired}`);
    assert.equal(err.status, 401);
    assert.equal(err.body.error.message, 'token expired');
    assert.equal(await gw.coordination.sessions.count(), 0, 'no session was created');
  });

  test('a valid token opens the socket, by header or by ?token=', async () => {
    const viaHeader = await TestClient.open(gw.ws, { authorization: `Bearer ${await gw.token('alice')}` });
    const viaQuery = await TestClient.open(`${gw.ws}?token=${await gw.token('bob')}`);
    const joined = await viaQuery.request('user-join', { auth: { token: await gw.token('bob', { name: 'Bob' }) } });
    assert.deepEqual(joined.data, { id: 'bob', name: 'Bob' });
    assert.equal(gw.gateway.connectionCount(), 2);
    viaHeader.close();
    viaQuery.close();
    await Promise.all([viaHeader.waitClosed(), viaQuery.waitClosed()]);
  });

  test('user-join with a bad token is refused and the socket keeps its user', async () => {
    const client = await gw.connect('carol');
    const reply = await client.request('user-join', { auth: { token: 'nope' } });
    assert.equal(reply.error?.code, 'SWY_UNAUTHORIZED');
    assert.ok(client.isOpen);
    const again = await client.request('user-join', { auth: { token: await gw.token('carol') } });
    assert.deepEqual(again.data, { id: 'carol', name: 'carol' });
    client.close();
  });
});

describe('gateway: upgrade rate per IP', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ gateway: { upgradesPerSecondPerIp: 0.1, upgradeBurstPerIp: 3 } });
  });
  after(() => gw.close());

  test('upgrades beyond the burst get HTTP 429 before the token is even checked', async () => {
    const token = await gw.token('dave');
    const opened: TestClient[] = [];
    for (let i = 0; i < 3; i++) opened.push(await TestClient.open(gw.ws, { authorization: `Bearer ${token}` }));
    await assert.rejects(TestClient.open(gw.ws, { authorization: `Bearer ${token}` }), (err: unknown) => {
      assert.ok(err instanceof UpgradeRefused);
      assert.equal(err.status, 429);
      assert.equal(err.body.error.code, 'SWY_RATE_LIMITED');
      return true;
    });
    assert.equal(gw.gateway.connectionCount(), 3);
    for (const c of opened) c.close();
  });
});
