import { EMBED_TASK, runIngestTask, type EmbedResult, type IngestPool } from '../poolTasks.js';
import { EmbedBatcher } from './EmbedBatcher.js';
import { HASH_DIMENSIONS } from './hashEmbedding.js';
import { LOCAL_DIMENSIONS, LOCAL_MODEL_NAME } from './models.js';
import { OpenAiEmbeddings } from './OpenAiEmbeddings.js';

export type EmbeddingProvider = 'local' | 'openai' | 'hash';

export interface EmbeddingOptions {
  readonly provider: EmbeddingProvider;
  /** openai: API root. */
  readonly baseUrl: string | null;
  /** openai: model name (required); ignored by local/hash. */
  readonly model: string | null;
  readonly batchSize: number;
  readonly batchMaxWaitMs: number;
}

/**
 * The configured embedding provider behind one batcher. `space` names the vector
 * space chunks are stored in, so a query never compares vectors of two models.
 * `local` and `hash` run in the pool (the model loads once per thread); `openai`
 * is network I/O and runs on the main thread.
 */
export class Embeddings {
  readonly space: string;
  readonly needsApiKey: boolean;
  private readonly batcher: EmbedBatcher;

  constructor(readonly options: EmbeddingOptions, pool: IngestPool) {
    const maxInFlight = Math.max(1, pool.size) * 2;
    const batch = { batchSize: options.batchSize, maxWaitMs: options.batchMaxWaitMs, maxInFlight };
    if (options.provider === 'openai') {
      const client = new OpenAiEmbeddings({ baseUrl: options.baseUrl!, model: options.model! });
      this.space = `openai:${options.model}`;
      this.needsApiKey = true;
      this.batcher = new EmbedBatcher((texts, apiKey) => client.embed(texts, apiKey ?? ''), { ...batch, maxInFlight: 4 });
    } else {
      const provider = options.provider;
      this.space = provider === 'local' ? `local:${LOCAL_MODEL_NAME}:${LOCAL_DIMENSIONS}` : `hash:lexical:${HASH_DIMENSIONS}`;
      this.needsApiKey = false;
      this.batcher = new EmbedBatcher(
        async (texts) => (await runIngestTask<EmbedResult>(pool, EMBED_TASK, { provider, texts }, { what: 'embedding batch' })).vectors,
        batch,
      );
    }
  }

  /** Batches sent so far (chunks of concurrent jobs share them). */
  get batches(): number {
    return this.batcher.batches;
  }

  embed(texts: readonly string[], apiKey: string | null, signal?: AbortSignal): Promise<Float32Array[]> {
    return this.batcher.embed(texts, apiKey, signal);
  }

  close(): void {
    this.batcher.close();
  }
}
