import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { waitFor } from './wait.js';

/** What the fake upstream does with one request. */
export type UpstreamReply =
  /** 200 text/event-stream: one chunk per token, `delayMs` apart; `[DONE]` unless `hold` keeps it open until the client leaves. */
  | { readonly type: 'stream'; readonly tokens: readonly string[]; readonly delayMs?: number; readonly hold?: boolean }
  /** A plain JSON error answer (OpenAI's `{error: {message}}` shape). */
  | { readonly type: 'status'; readonly status: number; readonly message?: string; readonly headers?: Record<string, string> }
  /** Destroys the socket without answering (a network failure to the client). */
  | { readonly type: 'reset' };

export interface SeenRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: any;
  readonly at: number;
  /** When the client closed the connection before the response ended (abort), epoch ms. */
  closedEarlyAt: number | null;
  ended: boolean;
}

/**
 * A small OpenAI-compatible `/v1/chat/completions` server for tests: real HTTP,
 * real server-sent events, scripted per request, and it records when a client
 * hangs up early (to prove a stop aborts the upstream request).
 */
export class FakeUpstream {
  readonly requests: SeenRequest[] = [];
  private readonly script: UpstreamReply[] = [];
  private readonly sockets = new Set<Socket>();
  private fallback: UpstreamReply = { type: 'stream', tokens: ['Hello', ', ', 'world'] };

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => void this.handle(req, res));
  }

  static async start(): Promise<FakeUpstream> {
    const upstream = new FakeUpstream(createServer());
    await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
    return upstream;
  }

  /** `http://127.0.0.1:<port>/v1` — what `tasks.completion.baseUrl` takes. */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** The next requests get these replies, in order; after them, the default. */
  enqueue(...replies: UpstreamReply[]): this {
    this.script.push(...replies);
    return this;
  }

  setDefault(reply: UpstreamReply): this {
    this.fallback = reply;
    return this;
  }

  async waitForRequests(n: number, timeoutMs = 5_000): Promise<SeenRequest[]> {
    await waitFor(() => this.requests.length >= n, { timeoutMs, what: `${n} upstream request(s)` });
    return this.requests;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown = null;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = null;
    }
    const seen: SeenRequest = { path: req.url ?? '', headers: req.headers, body, at: Date.now(), closedEarlyAt: null, ended: false };
    this.requests.push(seen);
    res.once('close', () => {
      if (!res.writableFinished) seen.closedEarlyAt = Date.now();
    });
    const reply = this.script.shift() ?? this.fallback;
    if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    if (reply.type === 'reset') {
      req.socket.destroy();
      return;
    }
    if (reply.type === 'status') {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify({ error: { message: reply.message ?? `status ${reply.status}` } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    const model = (body as { model?: string } | null)?.model ?? 'test-model';
    for (const token of reply.tokens) {
      if (res.destroyed) return;
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (res.destroyed) return;
      const chunk = { id: 'chatcmpl-test', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: { content: token }, finish_reason: null }] };
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    if (reply.hold) return; // open until the client hangs up (or close() destroys the socket)
    res.write('data: [DONE]\n\n');
    res.end();
    seen.ended = true;
  }
}
