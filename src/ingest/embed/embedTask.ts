/** Pool task module (runs in a pool thread): embed one batch with an in-thread provider. */
import type { EmbedResult, EmbedTask } from '../poolTasks.js';

export default async function embed(task: EmbedTask): Promise<EmbedResult> {
  if (task.provider === 'local') {
    const { localEmbeddings } = await import('./localModel.js'); // TF.js: loaded by the threads that embed, never the main thread
    return { vectors: await localEmbeddings(task.texts) };
  }
  const { hashEmbedding } = await import('./hashEmbedding.js');
  return { vectors: task.texts.map((t) => hashEmbedding(t)) };
}
