import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TokenService } from '../src/auth/tokens.js';
import { rawUpload, type RawReply } from './helpers/rawHttp.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';

const MB = 1024 * 1024;
const FIFTY_MB = 50 * MB;
/** Issue 13 #7 measured +95 MiB per refused 50 MiB upload; a refusal that reads nothing stays far below this. */
const RSS_BUDGET_BYTES = 20 * MB;
/** A small per-test body limit for the JSON routes, so a chunked body crosses it quickly. */
const MAX_BODY = 8 * 1024;

const tokens = new TokenService(TEST_SECRET);

function errorCode(reply: RawReply): string | undefined {
  return (JSON.parse(reply.body) as { error?: { code?: string } }).error?.code;
}

/** RSS rise across `work`, after a GC on both sides when --expose-gc is available. */
async function rssRise(work: () => Promise<void>): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  await work();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss - before;
}

describe('HTTP: auth and size limits before the body is read', () => {
  let t: TestRuntime;
  let port: number;
  let user: string;

  before(async () => {
    t = await startRuntime({ gateway: { maxBodyBytes: MAX_BODY } });
    port = t.runtime.port;
    user = await tokens.sign({ sub: 'alice' });
    // Warm-up: first-request allocations (JIT, uWS buffers) are not the upload's cost.
    await rawUpload({ port, path: '/api/files', bodyBytes: 1024 });
  });
  after(() => t?.runtime.stop());

  it('an unauthenticated 50 MB upload: 401 at once, connection closed, RSS rise < 20 MB', async () => {
    let reply!: RawReply;
    const rise = await rssRise(async () => {
      reply = await rawUpload({ port, path: '/api/files?collection=x', headers: { 'content-type': 'application/pdf', 'x-filename': 'big.pdf' }, bodyBytes: FIFTY_MB });
    });
    assert.equal(reply.status, 401);
    assert.equal(errorCode(reply), 'SWY_UNAUTHORIZED');
    assert.equal(reply.headers['www-authenticate'], 'Bearer');
    assert.ok(reply.closedByServer, 'the server closed the connection after the 401');
    assert.equal(reply.headers.connection, 'close', 'and said so');
    assert.ok(reply.bodyBytesSent < FIFTY_MB, `the client could not push the whole body (${reply.bodyBytesSent} bytes sent)`);
    assert.ok(rise < RSS_BUDGET_BYTES, `RSS rose by ${(rise / MB).toFixed(1)} MiB`);
  });

  it('a chunked unauthenticated upload is refused the same way', async () => {
    const reply = await rawUpload({ port, path: '/api/files', bodyBytes: FIFTY_MB, chunked: true });
    assert.equal(reply.status, 401);
    assert.ok(reply.closedByServer);
    assert.ok(reply.bodyBytesSent < FIFTY_MB);
  });

  it('an invalid token with a 50 MB body: 401 after the token check, body never read', async () => {
    let reply!: RawReply;
    const rise = await rssRise(async () => {
      reply = await rawUpload({ port, path: '/api/files', headers: { authorization: 'Bearer not.a.jwt' }, bodyBytes: FIFTY_MB });
    });
    assert.equal(reply.status, 401);
    assert.match(reply.body, /token invalid/);
    assert.ok(reply.closedByServer);
    assert.ok(reply.bodyBytesSent < FIFTY_MB);
    assert.ok(rise < RSS_BUDGET_BYTES, `RSS rose by ${(rise / MB).toFixed(1)} MiB`);
  });

  it('authenticated, Content-Length over the route limit: 413 with the code, connection closed, nothing read', async () => {
    const declared = 60 * MB; // over ingest.maxFileBytes (50 MiB) plus the multipart slack
    const reply = await rawUpload({ port, path: '/api/files', headers: { authorization: `Bearer ${user}` }, bodyBytes: declared });
    assert.equal(reply.status, 413);
    assert.equal(errorCode(reply), 'SWY_PAYLOAD_TOO_LARGE');
    assert.ok(reply.closedByServer);
    assert.ok(reply.bodyBytesSent < declared);
  });

  it('authenticated chunked body crossing the limit: 413, connection closed', async () => {
    const reply = await rawUpload({ port, path: '/api/docs', headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' }, bodyBytes: 4 * MB, chunked: true });
    assert.equal(reply.status, 413);
    assert.equal(errorCode(reply), 'SWY_PAYLOAD_TOO_LARGE');
    assert.ok(reply.closedByServer);
  });

  it('an unauthenticated route with an oversized Content-Length: 413 at once (no token to check)', async () => {
    const reply = await rawUpload({ port, path: '/healthz', method: 'GET', bodyBytes: 2 * MB });
    assert.equal(reply.status, 413);
    assert.ok(reply.closedByServer);
  });

  it('an invalid token with a small body (read, not paused, during the check): 401 and the connection kept', async () => {
    const reply = await rawUpload({ port, path: '/api/tasks', headers: { authorization: 'Bearer not.a.jwt', 'content-type': 'application/json' }, bodyBytes: 200, closeWithinMs: 500 });
    assert.equal(reply.status, 401);
    assert.match(reply.body, /token invalid/);
    assert.equal(reply.closedByServer, false);
  });

  it('an invalid token with a body too big to read during the check (2 MB): 401, connection closed', async () => {
    const reply = await rawUpload({ port, path: '/api/files', headers: { authorization: 'Bearer not.a.jwt' }, bodyBytes: 2 * MB });
    assert.equal(reply.status, 401);
    assert.ok(reply.closedByServer);
  });

  it('a refusal without a body keeps the connection (keep-alive unaffected)', async () => {
    const reply = await rawUpload({ port, path: '/api/usage', method: 'GET', bodyBytes: 0, closeWithinMs: 500 });
    assert.equal(reply.status, 401);
    assert.equal(reply.closedByServer, false);
  });

  it('after all that, a normal authenticated request with a body still works', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/docs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
      body: JSON.stringify({}),
    });
    assert.equal(res.status, 201, await res.text());
  });
});
