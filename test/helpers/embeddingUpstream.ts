import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hashEmbedding } from '../../src/ingest/embed/hashEmbedding.js';

export interface UpstreamRequest {
  readonly authorization: string | undefined;
  readonly model: string;
  readonly inputs: string[];
}

/** What to answer to request n (0-based): a status (+ headers), or null for a normal 200 with embeddings. */
export type Script = (n: number, req: UpstreamRequest) => { status: number; headers?: Record<string, string>; body?: string } | null;

/**
 * A real OpenAI-compatible `/v1/embeddings` server on 127.0.0.1:0 (the product's
 * upstream is outside it). Embeddings are the lexical hash vectors, so retrieval
 * still works; `script` injects failures.
 */
export class EmbeddingUpstream {
  readonly requests: UpstreamRequest[] = [];
  private constructor(private readonly server: Server, readonly url: string, public script: Script) {}

  static async start(script: Script = () => null): Promise<EmbeddingUpstream> {
    let self!: EmbeddingUpstream;
    const server = createServer((req, res) => void self.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    self = new EmbeddingUpstream(server, `http://127.0.0.1:${port}/v1`, script);
    return self;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: { model?: string; input?: string[] } = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString()) as typeof body;
    } catch {
      res.writeHead(400).end('{"error":"bad json"}');
      return;
    }
    const request: UpstreamRequest = { authorization: req.headers.authorization, model: body.model ?? '', inputs: body.input ?? [] };
    const n = this.requests.length;
    this.requests.push(request);
    const scripted = req.url === '/v1/embeddings' ? this.script(n, request) : { status: 404 };
    if (scripted) {
      res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers }).end(scripted.body ?? '{"error":{"message":"scripted failure"}}');
      return;
    }
    const data = request.inputs.map((text, index) => ({ object: 'embedding', index, embedding: Array.from(hashEmbedding(text, 64)) }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: request.model }));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
