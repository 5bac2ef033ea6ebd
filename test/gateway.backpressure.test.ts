import './helpers/guard.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { sleep, waitFor } from './helpers/wait.js';

/** A WebSocket client that completes the handshake and then never reads again. */
function stalledClient(port: number, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      );
    });
    socket.once('data', (chunk) => {
      if (!chunk.toString().startsWith('HTTP/1.1 101')) reject(new Error(`no upgrade: ${chunk.toString().split('\r\n')[0]}`));
      socket.pause();
      resolve(socket);
    });
    socket.on('error', () => {});
    setTimeout(() => reject(new Error('no upgrade within 3 s')), 3_000).unref();
  });
}

describe('gateway: backpressure', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ gateway: { maxBackpressureBytes: 256 * 1024 } });
  });
  after(() => gw.close());

  test('a socket that stops reading is closed at maxBackpressureBytes, not skipped; a reading socket gets every frame', async () => {
    const stalled = await stalledClient(gw.port, await gw.token('slow'));
    const reader = await gw.connect('slow');
    await reader.request('heartbeat');
    assert.equal(gw.gateway.connectionCount(), 2);
    const pad = 'x'.repeat(32 * 1024);
    let sent = 0;
    // The kernel buffers a few MB first; keep broadcasting until uWS gives up on the stalled socket.
    for (; sent < 2_000 && gw.gateway.connectionCount() === 2; sent++) {
      await gw.gateway.emitToRoom('user:slow', 'events', { n: sent, pad });
      if (sent % 20 === 0) await sleep(1);
    }
    assert.equal(gw.gateway.connectionCount(), 1, `stalled socket still open after ${sent} frames`);
    await waitFor(() => reader.events('events').length === sent, { what: `all ${sent} frames at the reading socket`, timeoutMs: 10_000 });
    assert.deepEqual(
      reader.events('events').map((f) => f.data.n),
      Array.from({ length: sent }, (_, i) => i),
    );
    const metrics = await gw.registry.getSingleMetricAsString('switchyard_ws_closed_total');
    // A user room reaches its own sockets through Connection.send, which closes with SLOW_CONSUMER (4010), not uWS' abnormal drop.
    assert.match(metrics, /reason="slow_consumer"[^\n]* 1/);
    stalled.destroy();
    reader.close();
  });
});
