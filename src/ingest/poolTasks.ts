import { PoolTaskError } from '../pool/PoolTaskError.js';
import type { PoolRunOptions, WorkerPool } from '../pool/WorkerPool.js';
import type { EmbeddingProvider } from './embed/Embeddings.js';
import { JobError } from './errors.js';
import type { ChunkOptions, TextChunk } from './pipeline/chunk.js';
import type { ExtractLimits } from './pipeline/extract.js';
import type { FileKind } from './pipeline/fileKind.js';

/** Ingestion's pool task modules (each runs in a pool thread). */
export const PREPARE_TASK = new URL('./pipeline/prepareTask.js', import.meta.url).href;
export const EMBED_TASK = new URL('./embed/embedTask.js', import.meta.url).href;

/** Read a stored upload, extract its text and chunk it. */
export interface PrepareTask {
  /** Absolute path of the stored upload (threads read it themselves: no big copies between threads). */
  readonly path?: string;
  /** The bytes themselves, when the upload store keeps no local file (PostgreSQL). */
  readonly bytes?: Uint8Array;
  readonly name: string;
  readonly fileKind: FileKind;
  readonly limits: ExtractLimits;
  readonly chunking: ChunkOptions;
}

export interface PrepareResult {
  readonly chunks: TextChunk[];
}

/** Embed one batch with an in-thread provider. */
export interface EmbedTask {
  readonly provider: Exclude<EmbeddingProvider, 'openai'>;
  readonly texts: readonly string[];
}

export interface EmbedResult {
  readonly vectors: Float32Array[];
}

/** What ingestion needs of the worker pool. */
export type IngestPool = Pick<WorkerPool, 'run' | 'size'>;

/** Runs an ingestion task; the pool's failures become job errors (permanent or not, as the pool says). */
export async function runIngestTask<R>(pool: IngestPool, handler: string, payload: PrepareTask | EmbedTask, options: PoolRunOptions): Promise<R> {
  try {
    return await pool.run<R>(handler, payload, options);
  } catch (err) {
    if (err instanceof PoolTaskError) throw new JobError(err.code, err.message, err.permanent, { cause: err });
    throw err;
  }
}
