/** Pool task module (runs in a pool thread): merge Yjs updates into one — compaction of a document's update log. */
import * as Y from 'yjs';
import { ErrorCode } from '../errors.js';
import { PoolTaskError } from '../pool/PoolTaskError.js';

export interface MergeUpdatesTask {
  readonly updates: readonly Uint8Array[];
}

export interface MergeUpdatesResult {
  readonly merged: Uint8Array;
}

export default function mergeUpdates(task: MergeUpdatesTask): MergeUpdatesResult {
  try {
    return { merged: Y.mergeUpdates(task.updates as Uint8Array[]) };
  } catch (err) {
    throw new PoolTaskError(ErrorCode.DOC_INVALID_MESSAGE, `cannot merge document updates: ${(err as Error).message}`, { permanent: true });
  }
}
