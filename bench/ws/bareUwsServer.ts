/**
 * Baseline (1) of `bench:ws`: the least a uWebSockets.js app can do for the same
 * protocol — switchyard's JSON envelope, native topics for rooms, the relay frame
 * built the same way — with no auth, limits, sessions or metrics. Prints
 * `{"port":N}` once listening. Run by the bench, not by hand.
 */
import { loadUws } from '../../src/gateway/uws.js';

interface Envelope {
  event: string;
  data?: { room?: string; channel_id?: string; data?: unknown };
  ack?: number;
}

const { uws, native } = loadUws();
if (!native) {
  process.stderr.write('bare uWS server: uWebSockets.js is on its JS fallback; refusing to serve a benchmark\n');
  process.exit(3);
}

// A normal exit, so `--cpu-prof` (bench/lib/profile.ts) writes its profile.
process.once('SIGTERM', () => process.exit(0));

let users = 0;
const app = uws.App();
app.ws<{ user: string }>('/ws', {
  maxPayloadLength: 64 * 1024,
  idleTimeout: 120,
  maxBackpressure: 1024 * 1024,
  closeOnBackpressureLimit: 1,
  upgrade: (res, req, context) => {
    res.upgrade(
      { user: `u${users++}` },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  message: (ws, message) => {
    let msg: Envelope;
    try {
      msg = JSON.parse(Buffer.from(message).toString('utf8')) as Envelope;
    } catch {
      return;
    }
    let reply: unknown = {};
    if (msg.event === 'join' && msg.data?.room) {
      ws.subscribe(msg.data.room);
      reply = { room: msg.data.room };
    } else if (msg.event === 'events:channel' && msg.data?.channel_id) {
      const frame = JSON.stringify({
        event: 'events:channel',
        data: { channel_id: msg.data.channel_id, user_id: ws.getUserData().user, data: msg.data.data ?? null },
      });
      // The ack goes out BEFORE the publish: a `send` on a socket subscribed to a topic with
      // unflushed publishes makes uWS drain the topic to every subscriber first (to keep order),
      // so ack-after-publish turns every relay into one write per member — measured 12× less
      // per server CPU-second in the 1 × 200 acked shape (0.28M vs 3.5M deliveries/CPU-s).
      if (msg.ack !== undefined) ws.send(JSON.stringify({ ack: msg.ack, data: reply }), false);
      ws.publish(`channel:${msg.data.channel_id}`, frame, false);
      return;
    }
    if (msg.ack !== undefined) ws.send(JSON.stringify({ ack: msg.ack, data: reply }), false);
  },
});
app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) {
    process.stderr.write('bare uWS server: cannot listen\n');
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port: uws.us_socket_local_port(socket as never) })}\n`);
});
