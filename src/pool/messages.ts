/** Typed messages to pool threads (see worker.ts). */
import type { ChunkOptions, TextChunk } from '../ingest/pipeline/chunk.js';
import type { ExtractLimits } from '../ingest/pipeline/extract.js';
import type { FileKind } from '../ingest/pipeline/fileKind.js';

/** Read a stored upload, extract its text and chunk it. */
export interface PrepareTask {
  readonly kind: 'prepare';
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
  readonly kind: 'embed';
  readonly provider: 'local' | 'hash';
  readonly texts: readonly string[];
}

export interface EmbedResult {
  readonly vectors: Float32Array[];
}

/** Merge Yjs updates into one: compaction of a document's update log. */
export interface MergeUpdatesTask {
  readonly kind: 'merge-updates';
  readonly updates: readonly Uint8Array[];
}

export interface MergeUpdatesResult {
  readonly merged: Uint8Array;
}

export type PoolTask = PrepareTask | EmbedTask | MergeUpdatesTask;

/**
 * Expected failures come back as values: structured clone drops an Error's own
 * fields (code, permanence) on the way across the thread boundary.
 */
export interface PoolFailure {
  readonly failure: { readonly code: string; readonly message: string; readonly permanent: boolean };
}

export type PoolReply<R> = R | PoolFailure;

export function isPoolFailure(value: unknown): value is PoolFailure {
  return typeof value === 'object' && value !== null && 'failure' in value;
}
