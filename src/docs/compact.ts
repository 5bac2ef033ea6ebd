import { setImmediate as yieldToLoop } from 'node:timers/promises';
import * as Y from 'yjs';
import { SwitchyardError } from '../errors.js';
import { PoolTaskError } from '../pool/PoolTaskError.js';
import type { PoolRunOptions } from '../pool/WorkerPool.js';
import type { DocumentStore } from '../storage/ports.js';
import type { MergeUpdatesResult, MergeUpdatesTask } from './mergeTask.js';
import type { DocumentLog } from '../coordination/DocumentLog.js';

/** Merges Yjs updates into one (the compaction of a document's update log). */
export type Compactor = (updates: readonly Uint8Array[]) => Promise<Uint8Array>;

/** What the compactor needs of the worker pool. */
export interface MergePool {
  run<R>(handler: string, payload: MergeUpdatesTask, options: PoolRunOptions): Promise<R>;
}

const MERGE_TASK = new URL('./mergeTask.js', import.meta.url).href;

/** Below this many bytes a merge costs less than the hop to a pool thread. */
export const INLINE_MERGE_MAX_BYTES = 64 * 1024;

/**
 * Large logs are merged in the Piscina pool so a long-lived document's backlog
 * never stalls the event loop; small ones inline, after yielding once so the
 * merge never runs inside the turn that asked for it. Without a pool, everything is inline.
 */
export function createCompactor(pool: MergePool | null, inlineMaxBytes = INLINE_MERGE_MAX_BYTES): Compactor {
  return async (updates) => {
    if (updates.length === 1) return updates[0]!;
    const bytes = updates.reduce((n, u) => n + u.byteLength, 0);
    if (pool && bytes > inlineMaxBytes) {
      try {
        // The interactive lane: a document load never queues behind an extraction.
        const { merged } = await pool.run<MergeUpdatesResult>(MERGE_TASK, { updates }, { lane: 'interactive', what: 'document merge' });
        return merged;
      } catch (err) {
        if (err instanceof PoolTaskError) throw new SwitchyardError(err.code, err.message, { cause: err }); // a document error, not the pool's
        throw err;
      }
    }
    await yieldToLoop();
    return Y.mergeUpdates(updates as Uint8Array[]);
  };
}

/** Inline compaction, for callers without a pool (tests, tools). */
export const compact: Compactor = createCompactor(null);

/**
 * What a fresh load sees: the stored state plus the log entries no save has covered
 * yet, merged into one update (null when the document has neither), and the log id
 * to read on from.
 */
export async function loadMergedState(
  storage: Pick<DocumentStore, 'loadState'>,
  log: Pick<DocumentLog, 'backlog'>,
  compact: Compactor,
  docId: string,
): Promise<{ state: Uint8Array | null; lastId: string }> {
  // The log first, then the store: an entry trimmed before the backlog was read is
  // covered by a save that finished before that trim, so the later store read has it.
  // Read together, a save + trim landing between them lost those entries for good.
  const backlog = await log.backlog(docId);
  const stored = await storage.loadState(docId);
  const parts = [...(stored ? [stored] : []), ...backlog.entries.map((e) => e.update)];
  return { state: parts.length > 0 ? await compact(parts) : null, lastId: backlog.lastId };
}
