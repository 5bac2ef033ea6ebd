/**
 * Baseline of `bench:ws`: socket.io 4 on its default server (`new Server(http)`,
 * default options), authenticating each connection with the same HS256 token as
 * switchyard, rooms via `socket.join` and the relay via `socket.to(room).emit`.
 * With REDIS_URL set: `@socket.io/redis-adapter` on that Redis (the cluster row — what a
 * socket.io user scales out with). Prints `{"port":N}` once listening. Run by the bench, not by hand.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { TokenService } from '../../src/auth/tokens.js';

const secret = process.env.JWT_SECRET;
if (!secret) {
  process.stderr.write('socket.io server: JWT_SECRET is required\n');
  process.exit(2);
}
const tokens = new TokenService(secret);
const http = createServer();
const io = new Server(http);
const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  const pub = new Redis(redisUrl);
  io.adapter(createAdapter(pub, pub.duplicate(), { key: process.env.REDIS_KEY_PREFIX ?? 'socket.io' }));
}
// A normal exit, so `--cpu-prof` (bench/lib/profile.ts) writes its profile.
process.once('SIGTERM', () => process.exit(0));

io.use((socket, next) => {
  const token = (socket.handshake.auth as { token?: unknown }).token;
  tokens.verify(typeof token === 'string' ? token : null).then(
    (result) => {
      if (!result.ok) return next(new Error(`token ${result.reason}`));
      socket.data.userId = result.principal.userId;
      next();
    },
    (err: unknown) => next(err as Error),
  );
});

type Ack = ((data: unknown) => void) | undefined;

io.on('connection', (socket) => {
  void socket.join(`user:${socket.data.userId as string}`);
  socket.on('join', (data: { room?: string }, ack: Ack) => {
    if (data?.room) void socket.join(data.room);
    ack?.({ room: data?.room });
  });
  socket.on('events:channel', (data: { channel_id?: string; data?: unknown }, ack: Ack) => {
    if (data?.channel_id) {
      socket.to(`channel:${data.channel_id}`).emit('events:channel', { channel_id: data.channel_id, user_id: socket.data.userId, data: data.data ?? null });
    }
    ack?.({});
  });
  socket.on('heartbeat', (_data: unknown, ack: Ack) => ack?.({}));
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
