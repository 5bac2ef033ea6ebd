import { ErrorCode } from '../../errors.js';
import { StorageError } from '../errors.js';
import { assertPatch, type FilePatch, type NewFile } from '../filePatch.js';
import type { FileRecord, FileStatus } from '../ports.js';
import { named, type PgClient } from './PgClient.js';

interface FileRow {
  id: string;
  owner_id: string;
  name: string;
  content_type: string;
  collection: string;
  size_bytes: string;
  path: string;
  status: FileStatus;
  progress: number;
  chunks: number;
  error: string | null;
  attempts: number;
  created_at: string;
  updated_at: string;
}

const INSERT = named(
  'file_insert',
  `INSERT INTO files (id, owner_id, name, content_type, collection, size_bytes, path, status, created_at, updated_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $8) ON CONFLICT (id) DO NOTHING RETURNING *`,
);
const SELECT = named('file_select', 'SELECT * FROM files WHERE id = $1');
/** One statement for every patch: an absent field keeps its value ($n IS NULL), error has its own flag (null is a value). */
export const UPDATE_SQL = `UPDATE files SET
     status = COALESCE($2, status), progress = COALESCE($3, progress),
     error = CASE WHEN $4::boolean THEN $5 ELSE error END,
     attempts = COALESCE($6, attempts), chunks = COALESCE($7, chunks), updated_at = $8
   WHERE id = $1 RETURNING *`;
const UPDATE = named('file_update', UPDATE_SQL);
const LIST = named('file_list', 'SELECT * FROM files WHERE status = ANY($1::text[]) ORDER BY created_at, id');

/** Values of UPDATE_SQL for a validated patch. */
export function updateValues(id: string, patch: FilePatch, now: number): unknown[] {
  return [id, patch.status ?? null, patch.progress ?? null, patch.error !== undefined, patch.error ?? null, patch.attempts ?? null, patch.chunks ?? null, now];
}

/** File records over PostgreSQL (the FileStore part without chunks). */
export class PgFiles {
  constructor(private readonly pg: PgClient, private readonly now: () => number) {}

  async create(file: NewFile): Promise<FileRecord> {
    const { rows } = await this.pg.query<FileRow>(
      'file create',
      INSERT([file.id, file.ownerId, file.name, file.contentType, file.collection, file.sizeBytes, file.path, this.now()]),
    );
    if (rows.length === 0) throw new StorageError(ErrorCode.CONFLICT, `file ${file.id} already exists`);
    return toFileRecord(rows[0]!);
  }

  async get(id: string): Promise<FileRecord | null> {
    const { rows } = await this.pg.query<FileRow>('file get', SELECT([id]));
    return rows[0] ? toFileRecord(rows[0]) : null;
  }

  async update(id: string, patch: FilePatch): Promise<FileRecord | null> {
    if (!assertPatch(patch)) return this.get(id);
    const { rows } = await this.pg.query<FileRow>('file update', UPDATE(updateValues(id, patch, this.now())));
    return rows[0] ? toFileRecord(rows[0]) : null;
  }

  async listByStatus(statuses: readonly FileStatus[]): Promise<FileRecord[]> {
    if (statuses.length === 0) return [];
    const { rows } = await this.pg.query<FileRow>('file list', LIST([statuses]));
    return rows.map(toFileRecord);
  }
}

export function toFileRecord(row: FileRow): FileRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    contentType: row.content_type,
    collection: row.collection,
    sizeBytes: Number(row.size_bytes),
    path: row.path,
    status: row.status,
    progress: row.progress,
    chunks: row.chunks,
    error: row.error,
    attempts: row.attempts,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
