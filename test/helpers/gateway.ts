import WebSocket from 'ws';
import { withDeadline } from '../../src/util/deadline.js';
import { TokenService } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import type { Config } from '../../src/config/schema.js';
import { createMemoryCoordination } from '../../src/coordination/memory/index.js';
import type { Coordination, Role } from '../../src/coordination/ports.js';
import { attachPresenceApi } from '../../src/presence/presenceApi.js';
import { Gateway, type GatewayDeps } from '../../src/gateway/Gateway.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetricsRegistry, type Registry } from '../../src/observability/metrics.js';

export const TEST_SECRET = 'gateway-test-secret-0123456789';

/** Default wait for any single socket event in these tests. */
const WAIT_MS = 3_000;

export interface StartOptions {
  /** Overrides of the `gateway` config section. */
  readonly gateway?: Partial<Config['gateway']>;
  /** Share one backend between several gateways (two "instances"). @default a fresh memory backend */
  readonly coordination?: Coordination;
  readonly instanceId?: string;
  readonly authorizeRoom?: GatewayDeps['authorizeRoom'];
  readonly readiness?: GatewayDeps['readiness'];
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly coordination: Coordination;
  readonly registry: Registry;
  readonly config: Config;
  readonly tokens: TokenService;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly http: string;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly ws: string;
  token(sub: string, options?: { role?: Role; name?: string; ttlSeconds?: number }): Promise<string>;
  /** Opens an authenticated event socket (token in the Authorization header). */
  connect(sub: string, options?: { role?: Role }): Promise<TestClient>;
  close(): Promise<void>;
}

/** Starts a real Gateway on 127.0.0.1, port 0, with memory coordination and a test secret. */
export async function startGateway(options: StartOptions = {}): Promise<TestGateway> {
  const config = loadConfig({}, { host: '127.0.0.1', port: 0, jwtSecret: TEST_SECRET, gateway: options.gateway ?? {} });
  const instanceId = options.instanceId ?? `test-${Math.random().toString(36).slice(2, 8)}`;
  const coordination = options.coordination ?? createMemoryCoordination();
  const registry = createMetricsRegistry(instanceId);
  const tokens = new TokenService(TEST_SECRET);
  const gateway = new Gateway({
    config,
    instanceId,
    tokens,
    coordination,
    registry,
    log: silentLogger(),
    authorizeRoom: options.authorizeRoom,
    readiness: options.readiness,
  });
  // Presence's events and /api/usage, as the runtime attaches them (the gateway alone has none).
  attachPresenceApi(gateway, { instanceId, coordination, now: Date.now });
  const port = await gateway.listen();
  const clients = new Set<TestClient>();
  const token: TestGateway['token'] = (sub, o = {}) => tokens.sign({ sub, ...o });
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  return {
    gateway,
    coordination,
    registry,
    config,
    tokens,
    port,
    http: `http://127.0.0.1:${port}`,
    ws: wsUrl,
    token,
    async connect(sub, o = {}) {
      const client = await TestClient.open(wsUrl, { authorization: `Bearer ${await token(sub, o)}` });
      clients.add(client);
      return client;
    },
    async close() {
      for (const c of clients) c.terminate();
      await gateway.close();
      if (!options.coordination) await coordination.close();
    },
  };
}

export interface Frame {
  readonly event?: string;
  readonly data?: any;
  readonly ack?: number | string;
  readonly error?: { code: string; message: string };
}

/** Why an upgrade was refused: the HTTP status and JSON body the server answered with. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number, readonly body: any) {
    super(`upgrade refused with HTTP ${status}`);
  }
}

/** A `ws` client that records every frame and the close, with waits that time out. */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextAck = 1;
  private listeners = new Set<() => void>();

  /** The close code and reason, once the close event came (named in wait errors). */
  private closedWith: string | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw, isBinary) => {
      this.frames.push(isBinary ? { event: '<binary>' } : (JSON.parse(raw.toString()) as Frame));
      for (const l of this.listeners) l();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.closedWith = `${code} ${reason.toString()}`;
        resolve({ code, reason: reason.toString() });
        for (const l of this.listeners) l();
      });
    });
    socket.on('error', () => {}); // surfaced through `closed`
  }

  /** Resolves on open; rejects with UpgradeRefused on a non-101 answer (the socket never opened). */
  static open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      const client = new TestClient(socket);
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`no open within ${WAIT_MS} ms`));
      }, WAIT_MS);
      socket.once('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          clearTimeout(timer);
          socket.terminate();
          let parsed: unknown = body;
          try {
            parsed = JSON.parse(body);
          } catch {
            /* not JSON: keep the text */
          }
          reject(new UpgradeRefused(res.statusCode ?? 0, parsed));
        });
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  emit(event: string, data: unknown = {}): void {
    this.sendRaw(JSON.stringify({ event, data }));
  }

  /** Sends with an ack id and resolves with the one reply to it. */
  async request(event: string, data: unknown = {}, timeoutMs = WAIT_MS): Promise<Frame> {
    const ack = this.nextAck++;
    this.sendRaw(JSON.stringify({ event, data, ack }));
    return this.waitFor((f) => f.ack === ack, `ack ${ack} (${event})`, timeoutMs);
  }

  /** The first recorded frame matching `match` (already received or arriving within the timeout). */
  waitFor(match: (f: Frame) => boolean, what = 'frame', timeoutMs = WAIT_MS): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.frames.find(match);
        if (hit) {
          done();
          resolve(hit);
          return true;
        }
        if (this.socket.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`socket closed (${this.closedWith ?? 'code not seen yet'}) while waiting for ${what}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (): void => {
        check();
      };
      if (!check()) this.listeners.add(listener);
    });
  }

  /** Frames of one server event. */
  events(name: string): Frame[] {
    return this.frames.filter((f) => f.event === name);
  }

  /** Resolves with the close, or rejects if the socket is still open after the timeout. */
  waitClosed(timeoutMs = WAIT_MS): Promise<{ code: number; reason: string }> {
    return withDeadline(this.closed, timeoutMs, () => new Error(`socket still open after ${timeoutMs} ms`));
  }

  close(): void {
    this.socket.close();
  }

  terminate(): void {
    this.socket.terminate();
  }
}
