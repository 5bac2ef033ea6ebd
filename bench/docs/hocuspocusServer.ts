/**
 * Hocuspocus 3.4 as a user would run it for the bench: the stock Server, no persistence
 * extension (the y-websocket reference server keeps documents in memory too), and with
 * REDIS_PORT set the stock @hocuspocus/extension-redis for the two-instance row.
 * Prints one JSON line `{"port":N}` once listening. Env: HOST, PORT (0 = any), REDIS_HOST, REDIS_PORT, REDIS_PREFIX.
 */
import { Redis } from '@hocuspocus/extension-redis';
import { Server } from '@hocuspocus/server';

const redisPort = process.env.REDIS_PORT ? Number(process.env.REDIS_PORT) : null;
const server = new Server({
  address: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 0),
  quiet: true,
  // The bench stops the process itself (and a profiled run needs the exit to be a normal one).
  stopOnSignals: false,
  extensions:
    redisPort === null
      ? []
      : [new Redis({ host: process.env.REDIS_HOST ?? '127.0.0.1', port: redisPort, prefix: process.env.REDIS_PREFIX ?? 'hocuspocus' })],
});

await server.listen();
process.stdout.write(`${JSON.stringify({ port: server.address.port })}\n`);

const stop = () => {
  server.destroy().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
