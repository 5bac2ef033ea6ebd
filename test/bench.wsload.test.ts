import './helpers/guard.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { answersEngineIo, DIALECTS, FrameKind } from '../bench/ws/dialects.js';
import { missingDeliveries } from '../bench/ws/phases.js';
import { RawWs } from '../bench/ws/RawWs.js';
import { markedPayload, Tally, writeMark } from '../bench/ws/Tally.js';
import { sleep, waitFor } from './helpers/wait.js';

/** A relayed frame as a server would send it, carrying publisher `pub`'s message `seq`. */
function relayed(pub: number, seq: number): Buffer {
  const frame = Buffer.from(JSON.stringify({ event: 'events:channel', data: { channel_id: 'c', user_id: 'u', data: { text: markedPayload(64) } } }));
  writeMark(frame, frame.indexOf('~'), pub, seq);
  return frame;
}

describe('bench:ws loss check', () => {
  test('a duplicate is counted apart and never makes up for a delivery a closed socket missed', () => {
    const tally = new Tally();
    const a = tally.socket();
    tally.socket(); // b: closed before anything arrived
    assert.equal(a.record(relayed(0, 0)), true);
    assert.equal(a.record(relayed(0, 0)), true);
    assert.equal(a.record(relayed(0, 1)), true);
    const counts = tally.counts();
    assert.deepEqual({ delivered: counts.delivered, duplicated: counts.duplicated, distinct: counts.distinct }, { delivered: 3, duplicated: 1, distinct: { 0: 2 } });
    // Publisher 0 sent 2 frames into a room of 3 (itself, a, b): 4 deliveries expected, 2 distinct arrived.
    assert.equal(missingDeliveries({ ...counts, closed: 1, unexpected: 0, sent: { 0: 2 } }, 3), 2);
  });

  test('its own message echoed back to a publisher, or a frame without a marker, is not a delivery', () => {
    const tally = new Tally();
    const publisher = tally.socket(7);
    assert.equal(publisher.record(relayed(7, 0)), false);
    assert.equal(publisher.record(Buffer.from('{"event":"events:channel","data":{}}')), false);
    assert.equal(publisher.record(relayed(8, 0)), true);
    assert.deepEqual(tally.counts().distinct, { 8: 1 });
  });
});

describe('bench:ws Socket.IO framing against socket.io 4', () => {
  const dialect = DIALECTS.socketio;
  let http: HttpServer;
  let io: Server;
  let port: number;
  const sockets: RawWs[] = [];

  before(async () => {
    http = createServer();
    // Short ping interval: a client that does not answer Engine.IO pings is dropped within 300 ms.
    io = new Server(http, { pingInterval: 100, pingTimeout: 200 });
    io.use((socket, next) => next((socket.handshake.auth as { token?: string }).token === 'good' ? undefined : new Error('bad token')));
    io.on('connection', (socket) => {
      socket.on('join', (data: { room: string }, ack: (v: unknown) => void) => {
        void socket.join(data.room);
        ack({ room: data.room });
      });
      socket.on('events:channel', (data: { channel_id: string; data: unknown }, ack?: (v: unknown) => void) => {
        socket.to(`channel:${data.channel_id}`).emit('events:channel', data);
        ack?.({});
      });
      socket.on('heartbeat', (_data: unknown, ack: (v: unknown) => void) => ack({}));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  });
  after(async () => {
    for (const ws of sockets) ws.destroy();
    await io.close();
  });

  const connect = async (token: string) => {
    const ws = await RawWs.open({ host: '127.0.0.1', port, path: dialect.path(token) });
    sockets.push(ws);
    await dialect.ready(ws, token);
    return ws;
  };

  /** Frames after setup but pings (answered by `kind`), copied, with their kind. */
  const collect = (ws: RawWs) => {
    const frames: Array<{ kind: FrameKind; payload: Buffer }> = [];
    ws.wantPayload = () => true;
    ws.onFrame = (_op, _len, payload) => {
      const kind = payload && dialect.kind(ws, payload);
      if (payload && kind !== FrameKind.UPKEEP) frames.push({ kind: kind!, payload: Buffer.from(payload) });
    };
    return frames;
  };

  test('a bad token is refused at connect (CONNECT_ERROR), before any event', async () => {
    await assert.rejects(connect('bad'), /socket.io connect refused: 44/);
  });

  test('connect with auth, join, an acked events:channel relayed with its marker, heartbeat ack ids, pings answered', async () => {
    const [pub, sub] = [await connect('good'), await connect('good')];
    for (const ws of [pub, sub]) {
      const reply = collect(ws);
      ws.write(dialect.join('channel:c'));
      await waitFor(() => reply.length === 1, { what: 'join ack' });
      assert.equal(reply[0]!.kind, FrameKind.ACK);
      assert.equal(reply[0]!.payload.toString(), '431[{"room":"channel:c"}]');
    }
    const pubFrames = collect(pub);
    const subFrames = collect(sub);
    const frame = dialect.broadcast('c', markedPayload(100), true);
    writeMark(frame, frame.indexOf('~'), 3, 41);
    pub.write(frame);
    pub.write(dialect.heartbeat(9_876));
    await waitFor(() => subFrames.length === 1 && pubFrames.length === 2, { what: 'relay and acks' });
    const tally = new Tally();
    assert.equal(subFrames[0]!.kind, FrameKind.EVENT);
    assert.equal(tally.socket().record(subFrames[0]!.payload), true);
    assert.deepEqual(tally.counts().distinct, { 3: 1 });
    assert.deepEqual(
      pubFrames.map((f) => [f.kind, dialect.ackId(f.payload), dialect.ackFailed(f.payload)]),
      [
        [FrameKind.ACK, 1, false],
        [FrameKind.ACK, 9_876, false],
      ],
    );
    // Several ping intervals later both are still connected: the client answered every ping.
    await sleep(700);
    assert.equal(io.of('/').sockets.size, 2);
    assert.equal(pub.closed || sub.closed, false);
    assert.equal(subFrames.length, 1, 'pings are upkeep, not deliveries');
  });
});

describe('bench:ws Socket.IO dialect probe', () => {
  test('answers only when /ws/socket.io/ speaks Engine.IO', async () => {
    const http = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    try {
      assert.equal(await answersEngineIo('127.0.0.1', port, 1_000), false, 'a server without the endpoint');
      const io = new Server(http, { path: '/ws/socket.io' });
      try {
        assert.equal(await answersEngineIo('127.0.0.1', port, 1_000), true, 'an Engine.IO server on that path');
      } finally {
        await io.close();
      }
    } finally {
      http.close();
    }
  });
});
