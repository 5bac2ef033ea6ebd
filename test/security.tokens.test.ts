import './helpers/guard.js';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { TokenService } from '../src/auth/tokens.js';
import { TestClient } from './helpers/gateway.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { originalToken, sioConnect } from './helpers/socketio.js';
import { sleep } from './helpers/wait.js';

const tokens = new TokenService(TEST_SECRET);
/** A 2 s token expires 1-2 s after signing (exp has second precision); the check runs once a second. */
const EXPIRY_WAIT_MS = 6_000;

describe('security: sockets do not outlive their token (issue 13 #12)', () => {
  let t: TestRuntime;
  const clients: TestClient[] = [];
  const sockets: Socket[] = [];
  before(async () => {
    t = await startRuntime();
  });
  after(async () => {
    for (const c of clients) c.terminate();
    for (const s of sockets) s.disconnect();
    await t.runtime.stop();
  });

  const ws = async (sub: string, opts: { ttlSeconds?: number; role?: 'user' | 'admin' } = {}) => {
    const c = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokens.sign({ sub, ...opts })}` });
    clients.push(c);
    return c;
  };

  it('/ws: the socket is closed with 4401 "token expired" when exp passes; a socket with a long token stays', async () => {
    const short = await ws('alice', { ttlSeconds: 2 });
    const long = await ws('alice');
    assert.equal((await short.request('heartbeat')).error, undefined);
    const closed = await short.waitClosed(EXPIRY_WAIT_MS);
    assert.deepEqual(closed, { code: 4401, reason: 'token expired' });
    assert.equal(long.isOpen, true);
    assert.deepEqual((await long.request('heartbeat')).data, {});
  });

  it('/ws: a user-join with a newer token extends the socket past the first token', async () => {
    const c = await ws('bob', { ttlSeconds: 2 });
    const fresh = await c.request('user-join', { auth: { token: await tokens.sign({ sub: 'bob', ttlSeconds: 3600 }) } });
    assert.deepEqual(fresh.data, { id: 'bob', name: 'bob' });
    await sleep(3_500);
    assert.equal(c.isOpen, true, 'still open after the first token expired');
    assert.deepEqual((await c.request('heartbeat')).data, {});
  });

  it('/ws: an expired token in user-join is refused and changes nothing', async () => {
    const c = await ws('carol');
    const expired = await c.request('user-join', { auth: { token: await tokens.sign({ sub: 'carol', ttlSeconds: -10 }) } });
    assert.equal(expired.error?.code, 'SWY_UNAUTHORIZED');
    assert.equal(c.isOpen, true);
  });

  it('Socket.IO: the socket is closed with 4401 when its (original-system) token expires', async () => {
    const socket = await sioConnect(t.runtime.port, await originalToken(TEST_SECRET, 'dave', 2));
    sockets.push(socket);
    socket.io.reconnection(false);
    const code = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('still open')), EXPIRY_WAIT_MS);
      socket.io.engine.on('close', (_reason: string, description: any) => {
        clearTimeout(timer);
        resolve(description?.context?.code);
      });
    });
    assert.equal(code, 4401);
    assert.equal(socket.connected, false);
  });

  it('/doc: a document socket is closed with 4401 when its token expires; one with a long token stays', async () => {
    const owner = await tokens.sign({ sub: 'gus' });
    const created = await fetch(`http://127.0.0.1:${t.runtime.port}/api/docs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'expiring-doc' }),
    });
    assert.equal(created.status, 201);
    const { default: WebSocket } = await import('ws');
    const open = (token: string) =>
      new Promise<InstanceType<typeof WebSocket>>((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${t.runtime.port}/doc/expiring-doc?token=${token}`);
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      });
    const short = await open(await tokens.sign({ sub: 'gus', ttlSeconds: 2 }));
    const long = await open(owner);
    try {
      const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('still open')), EXPIRY_WAIT_MS);
        short.once('close', (code, reason) => {
          clearTimeout(timer);
          resolve({ code, reason: reason.toString() });
        });
      });
      assert.deepEqual(closed, { code: 4401, reason: 'token expired' });
      assert.equal(long.readyState, WebSocket.OPEN);
    } finally {
      short.terminate();
      long.terminate();
    }
  });

  it('a user-join that drops the admin role leaves the rooms only an admin could be in', async () => {
    const members = t.runtime.coordination.roomMembers;
    await members.add('channel:mine', 'erin');
    const c = await ws('erin', { role: 'admin' });
    for (const room of ['user:frank', 'channel:not-mine', 'channel:mine']) {
      assert.equal((await c.request('join', { room })).error, undefined, room);
    }
    const downgraded = await c.request('user-join', { auth: { token: await tokens.sign({ sub: 'erin', role: 'user' }) } });
    assert.equal(downgraded.error, undefined);
    const gw = t.runtime.gateway!;
    await gw.emitToRoom('user:frank', 'task:status', { to: 'frank' });
    await gw.emitToRoom('channel:not-mine', 'events:channel', { to: 'not-mine' });
    await gw.emitToRoom('channel:mine', 'events:channel', { to: 'mine' });
    await gw.emitToRoom('user:erin', 'task:status', { to: 'erin' });
    await c.waitFor((f) => f.event === 'task:status' && f.data.to === 'erin');
    await c.waitFor((f) => f.event === 'events:channel' && f.data.to === 'mine');
    await sleep(100);
    assert.equal(c.events('task:status').filter((f) => f.data.to === 'frank').length, 0, "another user's room was left");
    assert.equal(c.events('events:channel').filter((f) => f.data.to === 'not-mine').length, 0, 'a channel it is no member of was left');
    assert.equal((await c.request('join', { room: 'user:frank' })).error?.code, 'SWY_FORBIDDEN');
  });
});

describe('ExpiryWheel: one interval, buckets per tick', () => {
  it('expires due items once, follows reschedules and untracks, and skips long idle stretches', async () => {
    const { ExpiryWheel } = await import('../src/gateway/limits/ExpiryWheel.js');
    let now = 10_000;
    const expired: string[] = [];
    const items = new Map<string, { name: string; wheelSlot: number; wheelIndex: number }>();
    const item = (name: string) => items.get(name) ?? items.set(name, { name, wheelSlot: -1, wheelIndex: 0 }).get(name)!;
    const wheel = new ExpiryWheel<ReturnType<typeof item>>((it) => expired.push(it.name), () => now, 1_000);
    try {
      wheel.track(item('a'), 11_500);
      wheel.track(item('b'), 12_000);
      wheel.track(item('c'), 12_000);
      wheel.track(item('past'), 5_000); // already due: the next tick
      wheel.track(item('never'), null);
      wheel.track(item('c'), 60_000); // rescheduled (a user-join with a newer token)
      wheel.track(item('gone'), 11_000);
      wheel.untrack(item('gone')); // closed before expiring
      for (const name of ['d', 'e', 'f']) wheel.track(item(name), 13_000);
      wheel.untrack(item('d')); // the bucket's last item fills the hole…
      wheel.untrack(item('f')); // …and is still found there
      wheel.untrack(item('f')); // twice is harmless
      assert.equal(wheel.size(), 5);
      now = 11_999;
      wheel.tick();
      assert.deepEqual(expired.sort(), ['a', 'past']);
      now = 12_000;
      wheel.tick();
      wheel.tick();
      assert.deepEqual(expired.sort(), ['a', 'b', 'past'], 'b once, c not yet');
      now = 10_000_000; // a stalled loop or a test clock: no walk over ten thousand empty ticks needed
      wheel.tick();
      assert.deepEqual(expired.sort(), ['a', 'b', 'c', 'e', 'past']);
      assert.equal(wheel.size(), 0);
    } finally {
      wheel.close();
    }
  });
});

describe('TokenService.verify: HS256 only (alg none, other algorithms, bad signatures, malformed segments, time claims)', () => {
  const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const now = () => Math.floor(Date.now() / 1000);
  const hs256 = (header: unknown, claims: unknown, secret = TEST_SECRET) => {
    const input = `${b64(header)}.${b64(claims)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'zoe', name: 'Zoe', role: 'user', exp: now() + 600, ...extra });
  const HEADER = { alg: 'HS256', typ: 'JWT' };

  /** [what, token, expected reason or 'ok'] */
  const cases: Array<[string, () => Promise<string> | string, 'ok' | 'expired' | 'invalid']> = [
    ['a token it signed', () => tokens.sign({ sub: 'zoe' }), 'ok'],
    ['an original-system token (id, no sub)', () => originalToken(TEST_SECRET, 'zoe'), 'ok'],
    ['a hand-made HS256 token', () => hs256(HEADER, claims()), 'ok'],
    ['alg none, no signature', () => `${b64({ alg: 'none' })}.${b64(claims())}.`, 'invalid'],
    ['alg none with a signature segment', () => `${b64({ alg: 'none' })}.${b64(claims())}.${b64('x')}`, 'invalid'],
    ['alg HS512 (a valid HS512 signature)', () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(TEST_SECRET)), 'invalid'],
    ['alg hs256 (case matters)', () => hs256({ alg: 'hs256' }, claims()), 'invalid'],
    ['no alg', () => hs256({ typ: 'JWT' }, claims()), 'invalid'],
    ['a crit header', () => hs256({ alg: 'HS256', crit: ['exp'] }, claims()), 'invalid'],
    ['another secret', () => hs256(HEADER, claims(), `${TEST_SECRET}x`), 'invalid'],
    ['a flipped signature byte', () => flipLast(hs256(HEADER, claims())), 'invalid'],
    ['a truncated signature', () => hs256(HEADER, claims()).slice(0, -4), 'invalid'],
    ['claims changed after signing', () => swapClaims(hs256(HEADER, claims()), claims({ role: 'admin' })), 'invalid'],
    ['two segments', () => hs256(HEADER, claims()).split('.').slice(0, 2).join('.'), 'invalid'],
    ['four segments', () => `${hs256(HEADER, claims())}.x`, 'invalid'],
    ['an empty segment', () => `.${b64(claims())}.${b64('x')}`, 'invalid'],
    ['a non-base64url character', () => hs256(HEADER, claims()).replace('.', '+.'), 'invalid'],
    ['a header that is not JSON', () => hs256('not json', claims()), 'invalid'],
    ['a header that is an array', () => hs256(['HS256'], claims()), 'invalid'],
    ['claims that are not JSON', () => hs256(HEADER, '{"sub":'), 'invalid'],
    ['claims that are an array', () => hs256(HEADER, [claims()]), 'invalid'],
    ['claims that are a number', () => hs256(HEADER, 42), 'invalid'],
    ['exp in the past', () => hs256(HEADER, claims({ exp: now() - 10 })), 'expired'],
    ['exp now (exp <= now is expired)', () => hs256(HEADER, claims({ exp: now() })), 'expired'],
    ['exp as a string', () => hs256(HEADER, claims({ exp: String(now() + 600) })), 'invalid'],
    ['nbf in the future', () => hs256(HEADER, claims({ nbf: now() + 600 })), 'invalid'],
    ['nbf in the past', () => hs256(HEADER, claims({ nbf: now() - 600 })), 'ok'],
    ['iat as a string', () => hs256(HEADER, claims({ iat: 'yesterday' })), 'invalid'],
    ['a sub token without exp', () => hs256(HEADER, { sub: 'zoe' }), 'invalid'],
    ['an id token without exp (the original system, JWT_EXPIRES_IN=-1)', () => hs256(HEADER, { id: 7 }), 'ok'],
    ['no user id', () => hs256(HEADER, { name: 'zoe', exp: now() + 600 }), 'invalid'],
  ];

  for (const [what, make, expected] of cases) {
    it(`${what}: ${expected}`, async () => {
      const token = await make();
      const result = await tokens.verify(token);
      assert.equal(result.ok ? 'ok' : result.reason, expected);
      // jose's bare verdict agrees: the service adds only its user-id and exp rules on top.
      const jose = await jwtVerify(token, new TextEncoder().encode(TEST_SECRET), { algorithms: ['HS256'] }).then(
        () => 'ok',
        (err: unknown) => (err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid'),
      );
      if (!what.includes('without exp') && what !== 'no user id') assert.equal(jose, expected, 'jose agrees');
    });
  }

  it('a verified token gives its principal and its expiry', async () => {
    const exp = now() + 600;
    const result = await tokens.verify(hs256(HEADER, claims({ exp, role: 'admin' })));
    assert.ok(result.ok);
    assert.deepEqual(result.principal, { userId: 'zoe', name: 'Zoe', role: 'admin' });
    assert.equal(tokens.expiresAt(result.principal), exp * 1000);
  });

  function flipLast(token: string): string {
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[sig.length - 1]! ^= 1;
    return `${h}.${p}.${sig.toString('base64url')}`;
  }

  function swapClaims(token: string, replacement: unknown): string {
    const [h, , s] = token.split('.') as [string, string, string];
    return `${h}.${b64(replacement)}.${s}`;
  }
});
