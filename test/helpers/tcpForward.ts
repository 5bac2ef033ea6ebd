import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder: accepts on `listenHost` (port 0) and pipes each connection to
 * `target`. The two-hosts test runs these in the root network namespace, so an
 * instance in another namespace reaches the machine's loopback-only Redis and
 * PostgreSQL over its veth link (and the test reaches the instances the same way).
 */
export class TcpForward {
  /** Connections accepted so far: proof that traffic took this path. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly host: string,
    readonly port: number,
  ) {}

  static async open(listenHost: string, target: { host: string; port: number }): Promise<TcpForward> {
    const sockets = new Set<Socket>();
    let forward: TcpForward | undefined;
    const server = createServer((inbound) => {
      forward!.accepted++;
      const outbound = createConnection(target);
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        // A reset on one side (an instance SIGKILLed mid-query) closes the other: never an unhandled 'error'.
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, listenHost, () => resolve());
    });
    forward = new TcpForward(server, sockets, listenHost, (server.address() as { port: number }).port);
    return forward;
  }

  /** Stops accepting and cuts every open connection (a dead link, as seen from both ends). */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
