/** Pool task module (runs in a pool thread): read a stored upload, extract its text, chunk it. */
import { readFile } from 'node:fs/promises';
import { ErrorCode } from '../../errors.js';
import { PoolTaskError } from '../../pool/PoolTaskError.js';
import type { PrepareResult, PrepareTask } from '../poolTasks.js';
import { chunkSections } from './chunk.js';
import { ExtractError, extractSections } from './extract.js';

export default async function prepare(task: PrepareTask): Promise<PrepareResult> {
  try {
    const bytes = task.bytes ?? (await readFile(task.path!));
    const sections = await extractSections(bytes, task.fileKind, task.name, task.limits);
    const chunks = chunkSections(sections, task.chunking);
    if (chunks.length === 0) throw new ExtractError(ErrorCode.FILE_CORRUPT, `${task.name} contains no text`);
    return { chunks };
  } catch (err) {
    if (err instanceof ExtractError) throw new PoolTaskError(err.code, err.message, { permanent: true });
    throw err;
  }
}
