import { ErrorCode, SwitchyardError } from '../errors.js';
import { HttpReply } from '../http/HttpReply.js';
import type { RouteContext, RouteTarget } from '../http/ports.js';
import type { FileRecord } from '../storage/ports.js';
import { ApiKeyStore } from './ApiKeyStore.js';
import type { Embeddings } from './embed/Embeddings.js';
import { isPermanent } from './errors.js';
import type { IngestService, Upload } from './IngestService.js';

export interface IngestRoutesDeps {
  readonly service: IngestService;
  readonly keys: ApiKeyStore;
  readonly embeddings: Embeddings;
  readonly maxFileBytes: number;
}

/** Multipart framing around the file: the body limit allows this much on top of maxFileBytes. */
const MULTIPART_SLACK_BYTES = 64 * 1024;
const MAX_K = 100;

/** SPEC §4.4 file and retrieval routes, plus the per-user embedding key. */
export function registerIngestRoutes(gateway: RouteTarget, deps: IngestRoutesDeps): void {
  const { service } = deps;
  gateway.route(
    'POST',
    '/api/files',
    async (ctx) => {
      const file = await service.upload(await readUpload(ctx));
      return HttpReply.json(202, { id: file.id, status: file.status });
    },
    { rawBody: true, maxBodyBytes: deps.maxFileBytes + MULTIPART_SLACK_BYTES, quota: 'uploads' },
  );
  gateway.route('GET', '/api/files/:id', async (ctx) => fileJson(await service.get(ctx.params.id!, ctx.principal!)));
  gateway.route('DELETE', '/api/files/:id', async (ctx) => {
    await service.delete(ctx.params.id!, ctx.principal!);
    return { id: ctx.params.id, deleted: true };
  });
  gateway.route('POST', '/api/retrieval/query', async (ctx) => {
    const body = (ctx.body ?? {}) as { collection?: unknown; query?: unknown; k?: unknown };
    if (typeof body.query !== 'string' || body.query.trim() === '') throw bad('query must be a non-empty string');
    const collection = body.collection === undefined ? 'default' : body.collection;
    if (typeof collection !== 'string' || collection === '') throw bad('collection must be a non-empty string');
    const k = body.k === undefined ? 5 : body.k;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K) throw bad(`k must be an integer from 1 to ${MAX_K}`);
    const hits = await service.query({ collection, query: body.query, k }, ctx.principal!);
    return hits.map((h) => ({ file_id: h.fileId, chunk: h.chunk, text: h.text, score: h.score, metadata: h.metadata }));
  });
  gateway.route('PUT', '/api/embedding/key', async (ctx) => {
    const apiKey = (ctx.body as { api_key?: unknown } | undefined)?.api_key;
    if (!ApiKeyStore.wellFormed(apiKey)) throw bad('api_key must be 1–512 printable characters without spaces');
    if (deps.embeddings.needsApiKey) {
      // Checked against the provider before it is kept, so uploads fail here and not in a job.
      try {
        await deps.embeddings.embed(['key check'], apiKey);
      } catch (err) {
        if (isPermanent(err)) throw new SwitchyardError(ErrorCode.EMBEDDING_REJECTED, 'the embedding provider refused this API key');
        throw err;
      }
    }
    await deps.keys.set(ctx.principal!.userId, apiKey);
    return { stored: true };
  });
  gateway.route('DELETE', '/api/embedding/key', async (ctx) => {
    await deps.keys.remove(ctx.principal!.userId);
    return { removed: true };
  });
}

function bad(message: string): SwitchyardError {
  return new SwitchyardError(ErrorCode.BAD_REQUEST, message);
}

/** Raw body (X-Filename + Content-Type) or multipart/form-data with a `file` part. */
async function readUpload(ctx: RouteContext): Promise<Upload> {
  const bytes = ctx.body as Buffer;
  const collection = ctx.query.get('collection') || 'default';
  const contentType = ctx.headers['content-type'] ?? 'application/octet-stream';
  if (/^multipart\/form-data/i.test(contentType)) {
    let form: FormData;
    try {
      // undici's multipart parser (Node's built-in fetch), no extra dependency.
      form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
    } catch {
      throw bad('the multipart body could not be parsed');
    }
    const part = form.get('file');
    if (!part || typeof part === 'string') throw bad('the multipart body needs a "file" part');
    const formCollection = form.get('collection');
    return {
      owner: ctx.principal!,
      name: part.name || 'upload',
      contentType: part.type || 'application/octet-stream',
      collection: typeof formCollection === 'string' && formCollection ? formCollection : collection,
      bytes: new Uint8Array(await part.arrayBuffer()),
    };
  }
  const rawName = ctx.headers['x-filename'];
  if (!rawName) throw bad('a raw upload needs an X-Filename header (or send multipart/form-data)');
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    name = rawName;
  }
  return { owner: ctx.principal!, name, contentType, collection, bytes };
}

export function fileJson(f: FileRecord): Record<string, unknown> {
  return {
    id: f.id,
    name: f.name,
    content_type: f.contentType,
    collection: f.collection,
    size_bytes: f.sizeBytes,
    status: f.status,
    progress: f.progress,
    chunks: f.chunks,
    error: f.error,
    attempts: f.attempts,
    created_at: f.createdAt,
    updated_at: f.updatedAt,
  };
}
