import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TokenService } from '../../src/auth/tokens.js';
import type { OriginalTaskBody, OriginalTasks } from './OriginalTasks.js';

/**
 * The baseline's HTTP front, so both sides are driven the same way: `POST /api/tasks`
 * `{kind, item_id}` → `{task_id, item_id}` and `POST /api/tasks/stop/<id>`, each with a
 * bearer token verified by the same TokenService switchyard uses. A plain node:http
 * server: the cost of switchyard's HTTP layer is part of what is compared.
 */
export interface OriginalFront {
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startOriginalFront(tasks: OriginalTasks, tokens: TokenService, kinds: ReadonlyMap<string, OriginalTaskBody>): Promise<OriginalFront> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const auth = await tokens.verify(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]);
    if (!auth.ok) return reply(res, 401, { error: { code: 'unauthorized', message: auth.reason } });
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/api/tasks') {
      const body = (await readJson(req)) as { kind?: unknown; item_id?: unknown };
      const kind = typeof body.kind === 'string' ? kinds.get(body.kind) : undefined;
      if (!kind) return reply(res, 400, { error: { code: 'bad_request', message: 'unknown kind' } });
      const itemId = typeof body.item_id === 'string' ? body.item_id : null;
      return reply(res, 200, { task_id: await tasks.create(kind, itemId), item_id: itemId });
    }
    const stop = /^\/api\/tasks\/stop\/([^/]+)$/.exec(url);
    if (req.method === 'POST' && stop) {
      req.resume();
      return reply(res, 200, await tasks.stop(decodeURIComponent(stop[1]!)));
    }
    reply(res, 404, { error: { code: 'not_found', message: url } });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => reply(res, 500, { error: { code: 'internal', message: String(err) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
