import { SignJWT } from 'jose';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

/** The original chat UI's exact client options (issue 12). */
export const ORIGINAL_OPTIONS = {
  path: '/ws/socket.io',
  transports: ['websocket'],
  reconnection: true,
  reconnectionDelay: 1000,
  reconnectionDelayMax: 5000,
  randomizationFactor: 0.5,
} as const;

const WAIT_MS = 5_000;

/** A token as the original system issues it: HS256, user id in `id`, `exp`, no role or name. */
export async function originalToken(secret: string, id: string, ttlSeconds = 3600): Promise<string> {
  return new SignJWT({ id })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** A real socket.io-client@4 socket with the original options; not yet connected. */
export function sioSocket(port: number, token: string | undefined): Socket {
  return io(`http://127.0.0.1:${port}`, { ...ORIGINAL_OPTIONS, transports: [...ORIGINAL_OPTIONS.transports], auth: token === undefined ? {} : { token } });
}

/** Resolves on `connect`, rejects with the `connect_error`. */
export function connected(socket: Socket, timeoutMs = WAIT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connect within timeout')), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function sioConnect(port: number, token: string): Promise<Socket> {
  return connected(sioSocket(port, token));
}

/** Records every event a socket receives (name, first argument). */
export class Inbox {
  readonly events: Array<{ event: string; data: any }> = [];
  constructor(readonly socket: Socket) {
    socket.onAny((event: string, data: unknown) => this.events.push({ event, data }));
  }

  of(event: string): any[] {
    return this.events.filter((e) => e.event === event).map((e) => e.data);
  }

  async next(event: string, match: (data: any) => boolean = () => true, timeoutMs = WAIT_MS): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find((e) => e.event === event && match(e.data));
      if (hit) return hit.data;
      if (Date.now() > deadline) throw new Error(`no "${event}" within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A raw Engine.IO websocket (`ws`), for what socket.io-client never sends (events before CONNECT, bad arrays). */
export class RawEngine {
  readonly frames: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw, isBinary) => this.frames.push(isBinary ? '<binary>' : raw.toString()));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});
  }

  static open(port: number, query = ''): Promise<RawEngine> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/socket.io/?EIO=4&transport=websocket${query}`);
    const engine = new RawEngine(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(engine));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: string): void {
    this.ws.send(frame);
  }

  async next(match: (frame: string) => boolean, timeoutMs = WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.ws.terminate();
  }
}
