import './helpers/guard.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SwitchyardError } from '../src/errors.js';
import { waitFor } from './helpers/wait.js';
import { startGateway, type TestClient, type TestGateway } from './helpers/gateway.js';

/** A second socket still answers: the first one's trouble stayed with it. */
async function assertWorks(client: TestClient): Promise<void> {
  const reply = await client.request('heartbeat');
  assert.deepEqual(reply.data, {}, 'the other socket still gets its ack');
  assert.ok(client.isOpen);
}

describe('gateway: event socket envelope, acks and errors (SPEC §4.2)', () => {
  let gw: TestGateway;
  let a: TestClient;
  let b: TestClient;
  before(async () => {
    gw = await startGateway({ gateway: { eventMaxPayloadBytes: 1024 } });
    gw.gateway.onEvent('echo', (ctx) => ({ you: ctx.principal.userId, got: ctx.data }));
    gw.gateway.onEvent('fail', () => {
      throw new SwitchyardError(ErrorCode.NOT_FOUND, 'no such thing');
    });
    gw.gateway.onEvent('crash', () => {
      throw new Error('secret internal detail');
    });
    a = await gw.connect('alice');
    b = await gw.connect('bob');
  });
  after(() => gw.close());

  test('a frame with ack gets exactly one {ack, data} reply', async () => {
    const reply = await a.request('echo', { x: 1 });
    assert.deepEqual(reply, { ack: reply.ack, data: { you: 'alice', got: { x: 1 } } });
    a.sendRaw(JSON.stringify({ event: 'echo', data: {}, ack: 'str-7' }));
    await a.waitFor((f) => f.ack === 'str-7');
    await a.request('heartbeat'); // later frames are answered after it
    assert.equal(a.frames.filter((f) => f.ack === reply.ack).length, 1);
  });

  test('a failing handler answers {ack, error:{code, message}}; an unexpected error is INTERNAL without its text', async () => {
    const failed = await a.request('fail');
    assert.deepEqual(failed.error, { code: 'SWY_NOT_FOUND', message: 'no such thing' });
    assert.equal(failed.data, undefined);
    const crashed = await a.request('crash');
    assert.deepEqual(crashed.error, { code: 'SWY_INTERNAL', message: 'internal error' });
    assert.ok(a.isOpen);
  });

  test('an error without ack comes as an `error` event', async () => {
    a.emit('fail');
    const err = await a.waitFor((f) => f.event === 'error' && f.data.code === 'SWY_NOT_FOUND');
    assert.equal(err.data.message, 'no such thing');
  });

  test('unknown event → UNKNOWN_EVENT, socket stays open, the other socket unaffected', async () => {
    const reply = await a.request('no-such-event');
    assert.equal(reply.error?.code, 'SWY_UNKNOWN_EVENT');
    assert.ok(a.isOpen);
    assert.equal(b.events('error').length, 0);
    await assertWorks(b);
  });

  test('invalid JSON → INVALID_JSON error event for that socket only', async () => {
    a.sendRaw('{"event": "heartbeat", oops');
    const err = await a.waitFor((f) => f.event === 'error' && f.data.code === 'SWY_INVALID_JSON');
    assert.equal(err.data.message, 'frame is not valid JSON');
    assert.ok(a.isOpen);
    await assertWorks(b);
    assert.equal(b.events('error').length, 0);
  });

  test('JSON that is not an envelope → BAD_REQUEST, paired with its ack when it has one', async () => {
    a.sendRaw(JSON.stringify({ data: {}, ack: 99 }));
    const reply = await a.waitFor((f) => f.ack === 99);
    assert.equal(reply.error?.code, 'SWY_BAD_REQUEST');
    a.sendRaw('[1,2]');
    await a.waitFor((f) => f.event === 'error' && f.data.code === 'SWY_BAD_REQUEST');
  });

  test('a binary frame → BINARY_NOT_SUPPORTED for that socket only', async () => {
    a.sendRaw(Buffer.from([1, 2, 3]), true);
    await a.waitFor((f) => f.event === 'error' && f.data.code === 'SWY_BINARY_NOT_SUPPORTED');
    assert.ok(a.isOpen);
    await assertWorks(b);
    assert.equal(b.events('error').length, 0);
  });

  test('bad event data → BAD_REQUEST naming the field', async () => {
    const reply = await a.request('usage', { model: 42 });
    assert.equal(reply.error?.code, 'SWY_BAD_REQUEST');
    assert.match(reply.error!.message, /"model"/);
  });

  test('onEvent refuses to replace a built-in event', () => {
    assert.throws(() => gw.gateway.onEvent('join', () => null), /already has a handler/);
  });
});

describe('gateway: oversized frames', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ gateway: { eventMaxPayloadBytes: 1024 } });
  });
  after(() => gw.close());

  test('a frame over eventMaxPayloadBytes closes that socket with 1009; the other keeps working', async () => {
    const big = await gw.connect('alice');
    const other = await gw.connect('bob');
    big.emit('heartbeat', { pad: 'x'.repeat(1500) });
    const closed = await big.waitClosed();
    assert.equal(closed.code, 1009);
    assert.equal(closed.reason, 'message too big');
    await assertWorks(other);
    const metrics = await gw.registry.getSingleMetricAsString('switchyard_ws_closed_total');
    assert.match(metrics, /reason="message_too_big"[^\n]* 1/);
  });

  test('a frame over uWS hard limit (2x) drops that connection; the other keeps working', async () => {
    const huge = await gw.connect('carol');
    const other = await gw.connect('dave');
    huge.emit('heartbeat', { pad: 'x'.repeat(10_000) });
    const closed = await huge.waitClosed();
    assert.equal(closed.code, 1006, 'uWS closes without a close frame');
    await assertWorks(other);
    const metrics = await gw.registry.getSingleMetricAsString('switchyard_ws_closed_total');
    assert.match(metrics, /reason="message_too_big"[^\n]* 2/, 'uWS\'s own too-big close is still counted as message_too_big');
    await waitFor(async () => (await gw.coordination.sessions.count()) === 2, { what: 'sessions of the closed sockets removed' });
  });
});

describe('gateway: message rate limit', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ gateway: { messagesPerSecond: 1, messageBurst: 5, maxRateViolations: 10 } });
  });
  after(() => gw.close());

  test('a flood gets RATE_LIMITED errors, then a 4008 close; another socket is unaffected', async () => {
    const flood = await gw.connect('mallory');
    const calm = await gw.connect('alice');
    for (let i = 1; i <= 30; i++) flood.sendRaw(JSON.stringify({ event: 'heartbeat', data: {}, ack: i }));
    const closed = await flood.waitClosed();
    assert.equal(closed.code, 4008);
    assert.equal(closed.reason, 'rate limited');
    const acked = flood.frames.filter((f) => f.ack !== undefined && f.error === undefined).map((f) => f.ack);
    const limited = flood.frames.filter((f) => f.error?.code === 'SWY_RATE_LIMITED').map((f) => f.ack);
    assert.deepEqual(acked, [1, 2, 3, 4, 5], 'the burst is served');
    assert.deepEqual(limited, [6, 7, 8, 9, 10, 11, 12, 13, 14], 'then each over-rate frame is refused until the 10th in a row closes');
    await assertWorks(calm);
    assert.equal(calm.events('error').length, 0);
  });
});
