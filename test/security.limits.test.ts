import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { TokenService } from '../src/auth/tokens.js';
import { TestClient, UpgradeRefused } from './helpers/gateway.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { connected, originalToken, sioConnect, sioSocket } from './helpers/socketio.js';
import { waitFor } from './helpers/wait.js';

const tokens = new TokenService(TEST_SECRET);

/** Small limits so each one is reached in a few requests; per-IP off here (every test user shares 127.0.0.1). */
const LIMITS = {
  socketsPerUser: 2,
  roomsPerSocket: 4,
  restPerSecondPerUser: 0.5,
  restBurstPerUser: 5,
  restPerSecondPerIp: 0,
  uploadsPerUser: 2,
  uploadBytesPerUser: 10_000,
  uploadWindowMs: 60_000,
  docsPerUser: 2,
};

describe('security: per-user and per-socket limits (issue 13 #4)', () => {
  let t: TestRuntime;
  const clients: TestClient[] = [];
  const sockets: Socket[] = [];
  before(async () => {
    t = await startRuntime({ limits: LIMITS, rooms: { open: true }, ingest: { maxFileBytes: 2_048, embedding: { provider: 'hash' } } });
  });
  after(async () => {
    for (const c of clients) c.terminate();
    for (const s of sockets) s.disconnect();
    await t.runtime.stop();
  });

  const url = (path: string) => `http://127.0.0.1:${t.runtime.port}${path}`;
  const ws = async (sub: string) => {
    const c = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub })}` });
    clients.push(c);
    return c;
  };
  const call = async (method: string, path: string, sub: string, init: RequestInit = {}) => {
    const res = await fetch(url(path), { ...init, method, headers: { authorization: `Bearer ${await tokens.sign({ sub })}`, ...(init.headers as Record<string, string>) } });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
  };

  it('sockets per user: one more /ws upgrade is 429 SWY_QUOTA_EXCEEDED, a Socket.IO connect a coded connect_error; others connect', async () => {
    const a1 = await ws('alice');
    await ws('alice');
    const refused = await ws('alice').then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof UpgradeRefused, 'the upgrade was refused');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'SWY_QUOTA_EXCEEDED');
    const sio = sioSocket(t.runtime.port, await originalToken(TEST_SECRET, 'alice'));
    sockets.push(sio);
    sio.io.reconnection(false);
    const err = (await connected(sio).then(
      () => null,
      (e: unknown) => e,
    )) as { message: string; data?: { code: string } } | null;
    assert.equal(err?.data?.code, 'SWY_QUOTA_EXCEEDED', 'both dialects count');
    await ws('bob'); // another user is not affected
    sockets.push(await sioConnect(t.runtime.port, await originalToken(TEST_SECRET, 'bob')));
    a1.close();
    await waitFor(async () => (await ws('alice').then(() => true, () => false)), { what: 'a slot freed by the close' });
  });

  it('rooms per socket: one more join is SWY_QUOTA_EXCEEDED; join-channels is all or nothing; another socket is unaffected', async () => {
    const c = await ws('carol'); // in user:carol already
    for (const room of ['chat:1', 'chat:2', 'chat:3']) assert.equal((await c.request('join', { room })).error, undefined, room);
    assert.equal((await c.request('join', { room: 'chat:4' })).error?.code, 'SWY_QUOTA_EXCEEDED');
    assert.equal((await c.request('join', { room: 'chat:3' })).error, undefined, 'a room it is in already costs nothing');
    await c.request('leave', { room: 'chat:3' });
    const many = await c.request('join-channels', { channel_ids: ['x', 'y'] });
    assert.equal(many.error?.code, 'SWY_QUOTA_EXCEEDED');
    assert.equal((await c.request('events:channel', { channel_id: 'x', data: 1 })).error?.code, 'SWY_FORBIDDEN', 'none of them was joined');
    const other = await ws('dave');
    assert.deepEqual((await other.request('join-channels', { channel_ids: ['x', 'y'] })).data, { channels: ['x', 'y'] });
  });

  it('REST per user: past the burst a 429 SWY_RATE_LIMITED with Retry-After; another user gets 200', async () => {
    const answers = [];
    for (let i = 0; i < LIMITS.restBurstPerUser + 1; i++) answers.push(await call('GET', '/api/usage', 'erin'));
    assert.deepEqual(answers.slice(0, LIMITS.restBurstPerUser).map((a) => a.status), Array(LIMITS.restBurstPerUser).fill(200));
    const over = answers.at(-1)!;
    assert.equal(over.status, 429);
    assert.equal(over.body.error.code, 'SWY_RATE_LIMITED');
    assert.ok(Number(over.retryAfter) >= 1, `Retry-After: ${over.retryAfter}`);
    assert.equal((await call('GET', '/api/usage', 'frank')).status, 200);
    const root = await tokens.sign({ sub: 'root', role: 'admin' });
    for (let i = 0; i < LIMITS.restBurstPerUser + 2; i++) {
      const res = await fetch(url('/api/usage'), { headers: { authorization: `Bearer ${root}` } });
      assert.equal(res.status, 200, 'an admin (the chat backend) is not limited per user');
    }
  });

  it('uploads per user: count and bytes over the window are 429 SWY_QUOTA_EXCEEDED with Retry-After; another user uploads', async () => {
    const upload = (sub: string, bytes: number) =>
      call('POST', '/api/files', sub, { headers: { 'x-filename': 'a.txt', 'content-type': 'text/plain' }, body: 'x'.repeat(bytes) });
    const oversized = await upload('gina', 70_000); // over the route's body limit (maxFileBytes + multipart slack)
    assert.equal(oversized.status, 413, 'refused as too large, spending nothing of the quota');
    const tooBig = await upload('gina', LIMITS.uploadBytesPerUser + 1);
    assert.equal(tooBig.status, 429, 'more bytes than the window allows');
    assert.equal(tooBig.body.error.code, 'SWY_QUOTA_EXCEEDED');
    assert.equal((await upload('gina', 100)).status, 202);
    assert.equal((await upload('gina', 100)).status, 202);
    const third = await upload('gina', 100);
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'SWY_QUOTA_EXCEEDED');
    assert.ok(Number(third.retryAfter) >= 1 && Number(third.retryAfter) <= 60, `Retry-After: ${third.retryAfter}`);
    assert.equal((await upload('hank', 100)).status, 202, 'another user is not affected');
  });

  it('documents per user: one more POST /api/docs is 429 SWY_QUOTA_EXCEEDED; another user creates', async () => {
    const create = (sub: string) => call('POST', '/api/docs', sub, { headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal((await create('ivy')).status, 201);
    assert.equal((await create('ivy')).status, 201);
    const third = await create('ivy');
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'SWY_QUOTA_EXCEEDED');
    assert.equal((await create('jack')).status, 201);
  });
});

describe('security: REST rate per IP', () => {
  let t: TestRuntime;
  after(() => t?.runtime.stop());

  it('past the burst from one address: 429 SWY_RATE_LIMITED with Retry-After, before the token is checked; /healthz stays up', async () => {
    t = await startRuntime({ limits: { restPerSecondPerIp: 0.5, restBurstPerIp: 3, restPerSecondPerUser: 0 } });
    const get = async (path: string, token: string) => fetch(`http://127.0.0.1:${t.runtime.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const good = await tokens.sign({ sub: 'kim' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get('/api/usage', i === 0 ? 'not-a-token' : good)).status);
    assert.deepEqual(statuses, [401, 200, 200], 'a bad token spends from the address too');
    const over = await get('/api/usage', good);
    assert.equal(over.status, 429);
    assert.equal(((await over.json()) as any).error.code, 'SWY_RATE_LIMITED');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.equal((await fetch(`http://127.0.0.1:${t.runtime.port}/healthz`)).status, 200, 'health checks are exempt');
  });
});
