import type { Database, Statement } from 'better-sqlite3';
import type { FileRecord, FileStatus } from '../ports.js';
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

export type NewFile = Omit<FileRecord, 'status' | 'progress' | 'chunks' | 'error' | 'attempts' | 'createdAt' | 'updatedAt'>;
export type FilePatch = Partial<Pick<FileRecord, 'status' | 'progress' | 'error' | 'attempts' | 'chunks'>>;

/** Patchable fields → column names; anything else in a patch is refused. */
const PATCH_COLUMNS: Readonly<Record<keyof FilePatch, string>> = {
  status: 'status',
  progress: 'progress',
  error: 'error',
  attempts: 'attempts',
  chunks: 'chunks',
};
const STATUSES: ReadonlySet<string> = new Set<FileStatus>(['queued', 'started', 'finished', 'failed', 'deferred', 'canceled']);

/** Synchronous file-record queries; runs inside the storage thread only. */
export class FileTable {
  private readonly insert: Statement;
  private readonly select: Statement;

  constructor(private readonly db: Database, private readonly now: () => number) {
    this.insert = db.prepare(
      `INSERT INTO files (id, owner_id, name, content_type, collection, size_bytes, path, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT(id) DO NOTHING`,
    );
    this.select = db.prepare('SELECT * FROM files WHERE id = ?');
  }

  create(file: NewFile): FileRecord {
    const at = this.now();
    const { changes } = this.insert.run(file.id, file.ownerId, file.name, file.contentType, file.collection, file.sizeBytes, file.path, at, at);
    if (changes === 0) throw new StoreFault('SWY_CONFLICT', `file ${file.id} already exists`);
    return this.get(file.id)!;
  }

  get(id: string): FileRecord | null {
    const row = this.select.get(id) as FileRow | undefined;
    return row ? toRecord(row) : null;
  }

  update(id: string, patch: FilePatch): FileRecord | null {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(patch)) {
      const column = PATCH_COLUMNS[key as keyof FilePatch];
      if (!column) throw new StoreFault('SWY_BAD_REQUEST', `file field "${key}" cannot be patched`);
      if (value === undefined) continue;
      if (key === 'status' && !STATUSES.has(value as string)) throw new StoreFault('SWY_BAD_REQUEST', `unknown file status "${String(value)}"`);
      sets.push(`${column} = ?`);
      values.push(value);
    }
    if (sets.length > 0) {
      this.db.prepare(`UPDATE files SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`).run(...values, this.now(), id);
    }
    return this.get(id);
  }

  listByStatus(statuses: readonly FileStatus[]): FileRecord[] {
    if (statuses.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT * FROM files WHERE status IN (${statuses.map(() => '?').join(', ')}) ORDER BY created_at, id`)
      .all(...statuses) as FileRow[];
    return rows.map(toRecord);
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
