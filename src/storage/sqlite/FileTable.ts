import type { Database, Statement } from 'better-sqlite3';
import type { FileRecord, FileStatus } from '../ports.js';
import { assertPatch, type FilePatch, type NewFile } from '../filePatch.js';
import { ErrorCode } from '../../errors.js';
import { StoreFault } from './StoreFault.js';

interface FileRow {
  id: string;
  owner_id: string;
  name: string;
  content_type: string;
  collection: string;
  size_bytes: number;
  path: string;
  status: FileStatus;
  progress: number;
  chunks: number;
  error: string | null;
  attempts: number;
  created_at: number;
  updated_at: number;
}

export type { FilePatch, NewFile };

/** Synchronous file-record queries; runs inside the storage thread only. */
export class FileTable {
  private readonly insert: Statement;
  private readonly select: Statement;
  private readonly patch: Statement;
  private readonly list: Statement;
  private readonly remove: Statement;

  constructor(db: Database, private readonly now: () => number) {
    this.insert = db.prepare(
      `INSERT INTO files (id, owner_id, name, content_type, collection, size_bytes, path, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT(id) DO NOTHING`,
    );
    this.select = db.prepare('SELECT * FROM files WHERE id = ?');
    // One statement for every patch: an absent field keeps its value, error has its own flag (null is a value).
    this.patch = db.prepare(
      `UPDATE files SET status = coalesce(@status, status), progress = coalesce(@progress, progress),
         error = CASE WHEN @setError THEN @error ELSE error END,
         attempts = coalesce(@attempts, attempts), chunks = coalesce(@chunks, chunks), updated_at = @at
       WHERE id = @id`,
    );
    this.list = db.prepare('SELECT * FROM files WHERE status IN (SELECT value FROM json_each(?)) ORDER BY created_at, id');
    this.remove = db.prepare('DELETE FROM files WHERE id = ?');
  }

  create(file: NewFile): FileRecord {
    const at = this.now();
    const { changes } = this.insert.run(file.id, file.ownerId, file.name, file.contentType, file.collection, file.sizeBytes, file.path, at, at);
    if (changes === 0) throw new StoreFault(ErrorCode.CONFLICT, `file ${file.id} already exists`);
    return this.get(file.id)!;
  }

  get(id: string): FileRecord | null {
    const row = this.select.get(id) as FileRow | undefined;
    return row ? toRecord(row) : null;
  }

  /** Validated by the rule both adapters share; a patch that sets nothing writes nothing. */
  update(id: string, patch: FilePatch): FileRecord | null {
    if (assertPatch(patch)) {
      this.patch.run({
        id,
        status: patch.status ?? null,
        progress: patch.progress ?? null,
        setError: patch.error !== undefined ? 1 : 0,
        error: patch.error ?? null,
        attempts: patch.attempts ?? null,
        chunks: patch.chunks ?? null,
        at: this.now(),
      });
    }
    return this.get(id);
  }

  listByStatus(statuses: readonly FileStatus[]): FileRecord[] {
    if (statuses.length === 0) return [];
    return (this.list.all(JSON.stringify(statuses)) as FileRow[]).map(toRecord);
  }

  /** The record only; call inside a transaction that removed its chunks and vectors. */
  delete(id: string): void {
    this.remove.run(id);
  }
}

function toRecord(row: FileRow): FileRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    contentType: row.content_type,
    collection: row.collection,
    sizeBytes: row.size_bytes,
    path: row.path,
    status: row.status,
    progress: row.progress,
    chunks: row.chunks,
    error: row.error,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
