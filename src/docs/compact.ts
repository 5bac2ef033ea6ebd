import { setImmediate as yieldToLoop } from 'node:timers/promises';
import * as Y from 'yjs';

/**
 * Merges Yjs updates into one (the compaction of a document's update log). This is
 * the seam for the worker pool: it is async and takes only bytes, so it can move
 * to a Piscina task unchanged once the pool exists. Until then it yields to the
 * event loop first, so it never runs inside the turn that asked for it.
 */
export async function compact(updates: readonly Uint8Array[]): Promise<Uint8Array> {
  if (updates.length === 1) return updates[0]!;
  await yieldToLoop();
  return Y.mergeUpdates(updates as Uint8Array[]);
}
