import * as encoding from 'lib0/encoding';
import { readLayout, type UpdateLayout } from './checkUpdate.js';

/**
 * Joins Yjs updates (v1) whose struct sections belong to different clients into one
 * update, by copying bytes: the struct sections one after another under one count, then
 * the delete sets' entries under one count. Yjs reads a client's structs into one slot
 * per client (a second section of the same client would replace the first), so only
 * disjoint updates can be joined this way; a delete set may name a client twice.
 * Applying the joined update is applying its parts: structs are integrated, then deletes.
 *
 * Why not `Y.mergeUpdates`: it decodes and re-encodes every struct, 54 µs for a window of
 * three one-key edits here, which raised a memory-mode server's CPU per delivered update
 * by a third under bench:docs. Joining them costs a walk of each update and a copy.
 */
export function joinLayouts(parts: readonly UpdateLayout[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, parts.reduce((n, p) => n + p.clients.length, 0));
  for (const p of parts) encoding.writeUint8Array(e, p.bytes.subarray(p.structsStart, p.structsEnd));
  encoding.writeVarUint(e, parts.reduce((n, p) => n + p.deleteClients, 0));
  for (const p of parts) encoding.writeUint8Array(e, p.bytes.subarray(p.deletesStart, p.deletesEnd));
  return encoding.toUint8Array(e);
}

/** A run of consecutive updates: `[start, end)` of the input, and their join when the run has several. */
export interface JoinedRun {
  readonly start: number;
  readonly end: number;
  /** null for a run of one update (send it as it came). */
  readonly update: Uint8Array | null;
}

/**
 * Splits `updates`, in order, into the longest runs whose clients are disjoint and joins
 * each run of several. An update whose layout cannot be read (a sub-document) is a run of its own.
 * Per client, the order of its updates is kept.
 */
export function joinUpdates(updates: readonly Uint8Array[]): JoinedRun[] {
  const runs: JoinedRun[] = [];
  let run: UpdateLayout[] = [];
  let clients = new Set<number>();
  let start = 0;
  const close = (end: number) => {
    if (end > start) runs.push({ start, end, update: run.length > 1 ? joinLayouts(run) : null });
    run = [];
    clients = new Set();
    start = end;
  };
  for (let i = 0; i < updates.length; i++) {
    const layout = readLayout(updates[i]!);
    if (layout === null) {
      close(i);
      close(i + 1);
      continue;
    }
    if (layout.clients.some((c) => clients.has(c))) close(i);
    run.push(layout);
    for (const c of layout.clients) clients.add(c);
  }
  close(updates.length);
  return runs;
}
