import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { TokenService } from '../../src/auth/tokens.js';
import type { Role } from '../../src/coordination/ports.js';
import type { Runtime } from '../../src/runtime.js';
import { TEST_SECRET } from './runtime.js';
import { waitFor } from './wait.js';

/** Helpers for document tests: tokens, the /api/docs routes, stock y-websocket providers. */
const tokens = new TokenService(TEST_SECRET);

export function docToken(sub: string, role: Role = 'user'): Promise<string> {
  return tokens.sign({ sub, role, name: sub });
}

export async function createDoc(rt: Runtime, sub: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${rt.port}/api/docs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await docToken(sub)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

export async function getDoc(rt: Runtime | number, sub: string): Promise<(id: string) => Promise<{ status: number; json: any }>> {
  const port = typeof rt === 'number' ? rt : rt.port;
  const token = await docToken(sub);
  return async (id) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/docs/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, json: await res.json() };
  };
}

/** A stock y-websocket provider, exactly as a browser would use it (ws as the WebSocket). */
export class Client {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly closes: Array<{ code: number; reason: string }> = [];

  private constructor(port: number, docId: string, token: string) {
    this.provider = new WebsocketProvider(`ws://127.0.0.1:${port}/doc`, docId, this.doc, {
      params: { token },
      WebSocketPolyfill: WebSocket as never,
      disableBc: true, // sync must go through the server, not a same-process BroadcastChannel
      maxBackoffTime: 500,
    });
    this.provider.on('connection-close', (event: any) => {
      if (event) this.closes.push({ code: event.code, reason: String(event.reason ?? '') });
    });
  }

  static async open(port: number, docId: string, sub: string, { synced = true }: { synced?: boolean } = {}): Promise<Client> {
    const client = new Client(port, docId, await docToken(sub));
    if (synced) await waitFor(() => client.provider.synced, { what: `client ${sub} synced on ${docId}`, timeoutMs: 8_000 });
    return client;
  }

  get text(): Y.Text {
    return this.doc.getText('body');
  }

  destroy(): void {
    this.provider.destroy();
    this.doc.destroy();
  }
}
