import { ErrorCode } from '../../errors.js';
import { PermanentJobError, TransientJobError } from '../errors.js';

export interface OpenAiEmbeddingsOptions {
  /** API root, e.g. `https://api.openai.com/v1` (a root without `/v1` gets it appended). */
  readonly baseUrl: string;
  readonly model: string;
  /** Bound on one request. @default 30_000 // ms */
  readonly requestTimeoutMs?: number;
}

/** Statuses that mean "this request will never succeed": fail the job at once. */
const PERMANENT = new Set([400, 401, 403, 404, 413, 422]);

/**
 * An OpenAI-compatible `/v1/embeddings` client. The API key is an argument of each
 * call, resolved by the caller when the job runs; it appears in no message, log
 * field or error (upstream bodies are not copied into errors: some echo the key).
 */
export class OpenAiEmbeddings {
  readonly url: string;

  constructor(private readonly options: OpenAiEmbeddingsOptions) {
    const root = options.baseUrl.replace(/\/+$/, '');
    this.url = `${/\/v\d+$/.test(root) ? root : `${root}/v1`}/embeddings`;
  }

  async embed(texts: readonly string[], apiKey: string, signal?: AbortSignal): Promise<Float32Array[]> {
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ model: this.options.model, input: texts }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new TransientJobError(ErrorCode.EMBEDDING_UNAVAILABLE, `embedding upstream unreachable: ${(err as Error).name}`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      const what = `embedding upstream answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (PERMANENT.has(res.status)) throw new PermanentJobError(ErrorCode.EMBEDDING_REJECTED, what);
      throw new TransientJobError(ErrorCode.EMBEDDING_UNAVAILABLE, what, { retryAfterMs: retryAfterMs(res.headers.get('retry-after')) });
    }
    let body: { data?: Array<{ embedding?: number[]; index?: number }> };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new TransientJobError(ErrorCode.EMBEDDING_UNAVAILABLE, 'embedding upstream sent a body that is not JSON');
    }
    const data = body.data ?? [];
    if (data.length !== texts.length || data.some((d) => !Array.isArray(d.embedding))) {
      throw new PermanentJobError(ErrorCode.EMBEDDING_REJECTED, `embedding upstream returned ${data.length} embeddings for ${texts.length} inputs`);
    }
    const ordered = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return ordered.map((d) => Float32Array.from(d.embedding!));
  }
}

/** Retry-After as seconds or an HTTP date → ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Math.round(Number(header) * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
