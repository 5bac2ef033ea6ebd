import { readFile } from 'node:fs/promises';
import { chunkSections } from '../ingest/pipeline/chunk.js';
import { ExtractError, extractSections } from '../ingest/pipeline/extract.js';
import { hashEmbedding } from '../ingest/embed/hashEmbedding.js';
import { localEmbeddings } from '../ingest/embed/localModel.js';
import * as Y from 'yjs';
import type { EmbedResult, EmbedTask, MergeUpdatesResult, MergeUpdatesTask, PoolReply, PoolTask, PrepareResult, PrepareTask } from './messages.js';

/**
 * Pool thread entry (Piscina). Stateless per task; per-thread state is only what
 * is expensive to build (the local embedding model, loaded once on first use).
 */
export default async function handle(task: PoolTask): Promise<PoolReply<PrepareResult | EmbedResult | MergeUpdatesResult>> {
  switch (task.kind) {
    case 'prepare':
      return prepare(task);
    case 'embed':
      return embed(task);
    case 'merge-updates':
      return mergeUpdates(task);
    default:
      throw new TypeError(`unknown pool task kind ${(task as { kind: unknown }).kind}`);
  }
}

async function prepare(task: PrepareTask): Promise<PoolReply<PrepareResult>> {
  try {
    const bytes = await readFile(task.path);
    const sections = await extractSections(bytes, task.fileKind, task.name, task.limits);
    const chunks = chunkSections(sections, task.chunking);
    if (chunks.length === 0) return { failure: { code: 'SWY_FILE_CORRUPT', message: `${task.name} contains no text`, permanent: true } };
    return { chunks };
  } catch (err) {
    if (err instanceof ExtractError) return { failure: { code: err.code, message: err.message, permanent: true } };
    throw err;
  }
}

async function embed(task: EmbedTask): Promise<EmbedResult> {
  const vectors = task.provider === 'local' ? await localEmbeddings(task.texts) : task.texts.map((t) => hashEmbedding(t));
  return { vectors };
}

function mergeUpdates(task: MergeUpdatesTask): PoolReply<MergeUpdatesResult> {
  try {
    return { merged: Y.mergeUpdates(task.updates as Uint8Array[]) };
  } catch (err) {
    return { failure: { code: 'SWY_DOC_INVALID_MESSAGE', message: `cannot merge document updates: ${(err as Error).message}`, permanent: true } };
  }
}
