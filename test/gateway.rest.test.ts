import './helpers/guard.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SwitchyardError } from '../src/errors.js';
import { HttpReply } from '../src/gateway/http/HttpReply.js';
import { startGateway, TestClient, type TestGateway } from './helpers/gateway.js';

describe('gateway: REST basics (SPEC §4.4)', () => {
  let gw: TestGateway;
  let healthy = true;
  let token: string;
  before(async () => {
    gw = await startGateway({ readiness: async () => ({ coordination: healthy, storage: true }), gateway: { maxBodyBytes: 1024 } });
    token = await gw.token('alice');
    gw.gateway
      .route('POST', '/api/things/:id', (ctx) => ({ id: ctx.params.id, q: ctx.query.get('q'), body: ctx.body, user: ctx.principal?.userId }))
      .route('GET', '/api/admin-only', (ctx) => {
        if (ctx.principal?.role !== 'admin') throw new SwitchyardError(ErrorCode.FORBIDDEN, 'admins only');
        return HttpReply.json(201, { ok: true });
      })
      .route('GET', '/api/boom', () => {
        throw new Error('database password is hunter2');
      })
      .route('GET', '/public/*', (ctx) => ({ rest: ctx.params['*'] }), { auth: 'none' });
  });
  after(() => gw.close());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw.http}${path}`, { headers });

  test('GET /healthz → 200 {status: ok} without a token', async () => {
    const res = await get('/healthz');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as { status: string; instance: string };
    assert.equal(body.status, 'ok');
    assert.equal(typeof body.instance, 'string', 'names the instance that answered (cluster mode: several share a port)');
  });

  test('GET /readyz → 200 when every check passes, 503 listing the failing one otherwise', async () => {
    const ok = await get('/readyz');
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: 'ready', checks: { coordination: true, storage: true, accepting: true } });
    healthy = false;
    const down = await get('/readyz');
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), { status: 'not_ready', checks: { coordination: false, storage: true, accepting: true } });
    healthy = true;
  });

  test('GET /metrics → Prometheus text with the gateway series, native uWS reported as 1', async () => {
    const client = await gw.connect('alice');
    await client.request('heartbeat');
    const res = await get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /^switchyard_ws_connections\{[^}]*\} 1$/m);
    assert.match(text, /^switchyard_uws_native\{[^}]*\} 1$/m);
    assert.match(text, /^switchyard_rooms\{[^}]*\} 1$/m, 'the user room');
    assert.match(text, /^switchyard_ws_messages_in_total\{[^}]*\} [1-9]/m);
    assert.match(text, /^switchyard_ws_messages_out_total\{[^}]*\} [1-9]/m);
    assert.match(text, /switchyard_nodejs_eventloop_lag_seconds/);
    client.close();
  });

  test('routes added with route(): params, query, JSON body, principal', async () => {
    const res = await fetch(`${gw.http}/api/things/a%20b?q=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ n: 1 }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: 'a b', q: '1', body: { n: 1 }, user: 'alice' });
    const open = await get('/public/a/b/c');
    assert.deepEqual(await open.json(), { rest: 'a/b/c' });
  });

  test('errors are {error:{code, message}} with a fitting status', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [get('/api/things/1'), 405, 'SWY_BAD_REQUEST'],
      [get('/nope'), 404, 'SWY_NOT_FOUND'],
      [get('/api/admin-only'), 401, 'SWY_UNAUTHORIZED'],
      [get('/api/admin-only', { authorization: 'Bearer junk' }), 401, 'SWY_UNAUTHORIZED'],
      [get('/api/admin-only', { authorization: `Bearer ${token}` }), 403, 'SWY_FORBIDDEN'],
      [get('/api/boom', { authorization: `Bearer ${token}` }), 500, 'SWY_INTERNAL'],
      [
        fetch(`${gw.http}/api/things/1`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{nope' }),
        400,
        'SWY_INVALID_JSON',
      ],
      [
        fetch(`${gw.http}/api/things/1`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'x'.repeat(5_000) }),
        413,
        'SWY_PAYLOAD_TOO_LARGE',
      ],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, status, `${code}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      assert.doesNotMatch(body.error.message, /hunter2/);
    }
  });

  test('a chunked body over the limit is cut off with 413', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(512).fill(120));
        controller.close();
      },
    });
    const res = await fetch(`${gw.http}/api/things/1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as any).error.code, 'SWY_PAYLOAD_TOO_LARGE');
  });
});

describe('gateway: shutdown hooks', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('stopAccepting refuses new connections; closeAll closes open sockets with 1001 and removes their sessions', async () => {
    const a = await gw.connect('alice');
    const b = await gw.connect('bob');
    gw.gateway.stopAccepting();
    await assert.rejects(TestClient.open(`${gw.ws}?token=${await gw.token('carol')}`));
    assert.equal(gw.gateway.connectionCount(), 2, 'open sockets survive stopAccepting');
    gw.gateway.closeAll();
    const closes = await Promise.all([a.waitClosed(), b.waitClosed()]);
    assert.deepEqual(closes, [
      { code: 1001, reason: 'server going away' },
      { code: 1001, reason: 'server going away' },
    ]);
    await gw.gateway.settled();
    assert.equal(await gw.coordination.sessions.count(), 0);
    assert.equal(gw.gateway.connectionCount(), 0);
  });
});
