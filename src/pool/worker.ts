import { readFile } from 'node:fs/promises';
import type { EmbedResult, EmbedTask, MergeUpdatesResult, MergeUpdatesTask, PoolReply, PoolTask, PrepareResult, PrepareTask } from './messages.js';

/**
 * Pool thread entry (Piscina). Stateless per task; per-thread state is only what
 * is expensive to build (the local embedding model, loaded once on first use).
 *
 * Each task kind imports its libraries on first use: a thread starts in
 * milliseconds instead of loading pdf.js, mammoth and TF.js up front (~0.3 s, more
 * under load) — and a pool closed right after start never terminates a thread in
 * the middle of evaluating those modules, which Node 20 can turn into a fatal error.
 */
const extractLib = () => import('../ingest/pipeline/extract.js');
const chunkLib = () => import('../ingest/pipeline/chunk.js');
const yjs = () => import('yjs');

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
  const [{ ExtractError, extractSections }, { chunkSections }] = await Promise.all([extractLib(), chunkLib()]);
  try {
    const bytes = task.bytes ?? (await readFile(task.path!));
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
  if (task.provider === 'local') {
    const { localEmbeddings } = await import('../ingest/embed/localModel.js');
    return { vectors: await localEmbeddings(task.texts) };
  }
  const { hashEmbedding } = await import('../ingest/embed/hashEmbedding.js');
  return { vectors: task.texts.map((t) => hashEmbedding(t)) };
}

async function mergeUpdates(task: MergeUpdatesTask): Promise<PoolReply<MergeUpdatesResult>> {
  const Y = await yjs();
  try {
    return { merged: Y.mergeUpdates(task.updates as Uint8Array[]) };
  } catch (err) {
    return { failure: { code: 'SWY_DOC_INVALID_MESSAGE', message: `cannot merge document updates: ${(err as Error).message}`, permanent: true } };
  }
}
