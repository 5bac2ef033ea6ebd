import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { ErrorCode, SwitchyardError } from '../errors.js';
import { HttpReply } from '../http/HttpReply.js';
import type { RouteTarget } from '../http/ports.js';
import type { DocumentStore } from '../storage/ports.js';
import { canRead, initialAccess } from './access.js';
import { loadMergedState, type Compactor } from './compact.js';
import type { DocumentLog } from '../coordination/DocumentLog.js';
import type { DocSnapshotReply } from './DocumentActor.js';
import { DOC_ID } from './DocumentSocket.js';
import { rootTexts } from './text.js';

export interface DocRoutesDeps {
  readonly storage: DocumentStore;
  readonly log: DocumentLog;
  readonly compact: Compactor;
  /** Deletes the document everywhere (record, actors, log). */
  readonly remove: (docId: string) => Promise<void>;
  /** The live document when it is loaded on this instance, else undefined. */
  readonly liveSnapshot: (docId: string) => Promise<DocSnapshotReply | null> | undefined;
  /** Documents one user may own (limits.docsPerUser); one more create answers SWY_QUOTA_EXCEEDED. */
  readonly maxDocsPerUser: number;
}

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0 || v.length > 256) || value.length > 10_000) {
    throw new SwitchyardError(ErrorCode.BAD_REQUEST, `${name} must be an array of user ids (or "*")`);
  }
  return value as string[];
}

/** `POST /api/docs`, `GET /api/docs/<id>` (SPEC §4.4) and `DELETE /api/docs/<id>` (owner only). */
export function registerDocRoutes(gateway: RouteTarget, deps: DocRoutesDeps): void {
  gateway.route('POST', '/api/docs', async ({ principal, body }) => {
    const input = (body ?? {}) as { id?: unknown; access?: { read?: unknown; write?: unknown } };
    if (typeof input !== 'object' || Array.isArray(input)) throw new SwitchyardError(ErrorCode.BAD_REQUEST, 'body must be a JSON object');
    const id = input.id === undefined ? randomUUID() : input.id;
    if (typeof id !== 'string' || !DOC_ID.test(id)) throw new SwitchyardError(ErrorCode.BAD_REQUEST, 'id must be 1-128 of A-Z a-z 0-9 _ . : -');
    if (input.access !== undefined && (typeof input.access !== 'object' || input.access === null)) {
      throw new SwitchyardError(ErrorCode.BAD_REQUEST, 'access must be {read?: [...], write?: [...]}');
    }
    const access = initialAccess(principal!.userId, {
      read: stringList(input.access?.read, 'access.read'),
      write: stringList(input.access?.write, 'access.write'),
    });
    // Checked before the create, so two racing creates may pass it by one: a bound on storage, not an exact count.
    if ((await deps.storage.countByOwner(principal!.userId)) >= deps.maxDocsPerUser) {
      throw new SwitchyardError(ErrorCode.QUOTA_EXCEEDED, `at most ${deps.maxDocsPerUser} documents per user`);
    }
    const rec = await deps.storage.create({ id, owner: principal!.userId, access });
    return HttpReply.json(201, { id: rec.id, owner: rec.owner, access: rec.access });
  });

  gateway.route('GET', '/api/docs/:id', async ({ principal, params }) => {
    const id = params.id!;
    const record = await deps.storage.get(id);
    if (!record) throw new SwitchyardError(ErrorCode.NOT_FOUND, `no document ${id}`);
    if (!canRead(record, principal!)) throw new SwitchyardError(ErrorCode.FORBIDDEN, `no read access to document ${id}`);
    const live = await deps.liveSnapshot(id);
    const text = live ? live.text : await storedText(deps, id);
    const reply = { id: record.id, owner: record.owner, access: record.access, size_bytes: record.sizeBytes, updated_at: record.updatedAt, text };
    // The latest Socket.IO note content snapshot (md/html/json), while the document is loaded here.
    return live?.content === undefined ? reply : { ...reply, content: live.content };
  });

  gateway.route('DELETE', '/api/docs/:id', async ({ principal, params }) => {
    const id = params.id!;
    const record = await deps.storage.get(id);
    if (!record) throw new SwitchyardError(ErrorCode.NOT_FOUND, `no document ${id}`);
    // Writers may edit, not destroy: only the owner deletes.
    if (record.owner !== principal!.userId) throw new SwitchyardError(ErrorCode.FORBIDDEN, `only the owner deletes document ${id}`);
    await deps.remove(id);
    return { id, deleted: true };
  });
}

/**
 * Stored state plus the log entries no save covered yet: what a fresh load would
 * see. A state that does not load is DOC_LOAD_FAILED (503), as from a loaded actor.
 */
async function storedText(deps: DocRoutesDeps, id: string): Promise<Record<string, string>> {
  const doc = new Y.Doc();
  try {
    const { state } = await loadMergedState(deps.storage, deps.log, deps.compact, id);
    if (state) Y.applyUpdate(doc, state);
    return rootTexts(doc);
  } catch (err) {
    if (err instanceof SwitchyardError && err.code !== ErrorCode.DOC_INVALID_MESSAGE) throw err; // e.g. storage unavailable
    throw new SwitchyardError(ErrorCode.DOC_LOAD_FAILED, `document ${id} failed to load; try again shortly`, { cause: err });
  } finally {
    doc.destroy();
  }
}
