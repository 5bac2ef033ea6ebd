import { after, before } from 'node:test';
import type { Runtime } from '../src/runtime.js';
import { EmbeddingUpstream } from './helpers/embeddingUpstream.js';
import type { TestFile } from './helpers/files.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';

/** Small REST client for the ingestion tests. */
export class IngestClient {
  constructor(readonly base: string, readonly token: string) {}

  static async of(runtime: Runtime, sub: string, role: 'user' | 'admin' = 'user', port = runtime.port): Promise<IngestClient> {
    const { TokenService } = await import('../src/auth/tokens.js');
    const { TEST_SECRET } = await import('./helpers/runtime.js');
    return new IngestClient(`http://127.0.0.1:${port}`, await new TokenService(TEST_SECRET).sign({ sub, role }));
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${this.token}`, ...headers } };
    if (body instanceof Uint8Array || body instanceof FormData) init.body = body as unknown as RequestInit["body"];
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${this.base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* keep text */
    }
    return { status: res.status, body: parsed };
  }

  /** Raw upload (X-Filename + Content-Type). */
  upload(file: TestFile, collection = 'default'): Promise<{ status: number; body: any }> {
    return this.request('POST', `/api/files?collection=${encodeURIComponent(collection)}`, file.bytes, {
      'content-type': file.contentType,
      'x-filename': encodeURIComponent(file.name),
    });
  }

  uploadMultipart(file: TestFile, collection = 'default'): Promise<{ status: number; body: any }> {
    const form = new FormData();
    form.set('file', new Blob([file.bytes], { type: file.contentType }), file.name);
    form.set('collection', collection);
    return this.request('POST', '/api/files', form);
  }

  file(id: string): Promise<{ status: number; body: any }> {
    return this.request('GET', `/api/files/${id}`);
  }

  /** Waits until the file reaches one of `statuses`; returns its record. */
  async waitStatus(id: string, statuses: string[], timeoutMs = 20_000): Promise<any> {
    return waitFor(
      async () => {
        const { body } = await this.file(id);
        return statuses.includes(body.status) ? body : null;
      },
      { timeoutMs, intervalMs: 50, what: `file ${id} to be ${statuses.join('/')}` },
    );
  }

  query(collection: string, query: string, k = 5): Promise<{ status: number; body: any }> {
    return this.request('POST', '/api/retrieval/query', { collection, query, k });
  }
}

/** What {@link withOpenAiRuntime} provides to the tests of a suite (filled in by its `before`). */
export interface OpenAiSetup {
  upstream: EmbeddingUpstream;
  t: TestRuntime;
  alice: IngestClient;
}

/**
 * Registers the suite's before/after: a real HTTP embedding upstream, a runtime using it
 * (provider `openai`, one pool thread) with `config(upstreamUrl)` on top, and alice.
 */
export function withOpenAiRuntime(config: (upstreamUrl: string) => Record<string, unknown>): OpenAiSetup {
  const setup = {} as OpenAiSetup;
  before(async () => {
    setup.upstream = await EmbeddingUpstream.start();
    setup.t = await startRuntime({ threadPoolSize: 1, ...config(setup.upstream.url) });
    setup.alice = await IngestClient.of(setup.t.runtime, 'alice');
  });
  after(async () => {
    await setup.t.runtime.stop();
    await setup.upstream.close();
  });
  return setup;
}
