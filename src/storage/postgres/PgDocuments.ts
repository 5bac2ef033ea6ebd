import { ErrorCode, LeaseLostError } from '../../errors.js';
import { StorageError } from '../errors.js';
import type { DocumentAccess, DocumentRecord, DocumentStore } from '../ports.js';
import { named, type PgClient } from './PgClient.js';

interface DocumentRow {
  id: string;
  owner: string;
  access: string;
  size_bytes: number;
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'id, owner, access, size_bytes, created_at, updated_at';
const INSERT = named('doc_insert', `INSERT INTO documents (id, owner, access, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`);
const SELECT = named('doc_select', `SELECT ${COLUMNS} FROM documents WHERE id = $1`);
const SELECT_STATE = named('doc_state', 'SELECT state FROM documents WHERE id = $1');
const CLAIM = named('doc_claim', 'UPDATE documents SET persist_fence = $2 WHERE id = $1 RETURNING state');
// Fenced: refused when a save under a higher fence is stored (see DocumentStore.saveState).
const SAVE = named(
  'doc_save',
  `UPDATE documents SET state = $2, size_bytes = $3, updated_at = $4,
     persist_fence = COALESCE(persist_fence, $5::bigint)
   WHERE id = $1 AND ($5::bigint IS NULL OR persist_fence IS NULL OR persist_fence = $5::bigint)`,
);
const EXISTS = named('doc_exists', 'SELECT 1 FROM documents WHERE id = $1');
const DELETE = named('doc_delete', 'DELETE FROM documents WHERE id = $1');
const COUNT_OWNED = named('doc_count_owned', 'SELECT count(*)::int AS n FROM documents WHERE owner = $1');

/** DocumentStore over PostgreSQL: one row per document, its Yjs state as bytea. */
export class PgDocuments implements DocumentStore {
  constructor(private readonly pg: PgClient, private readonly now: () => number) {}

  async create(doc: { id: string; owner: string; access: DocumentAccess }): Promise<DocumentRecord> {
    const access = { read: [...doc.access.read], write: [...doc.access.write] };
    const { rows } = await this.pg.query<DocumentRow>('document create', INSERT([doc.id, doc.owner, JSON.stringify(access), this.now()]));
    if (rows.length === 0) throw new StorageError(ErrorCode.CONFLICT, `document ${doc.id} already exists`);
    return toRecord(rows[0]!);
  }

  async get(id: string): Promise<DocumentRecord | null> {
    const { rows } = await this.pg.query<DocumentRow>('document get', SELECT([id]));
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async loadState(id: string): Promise<Uint8Array | null> {
    const { rows } = await this.pg.query<{ state: Buffer | null }>('document load', SELECT_STATE([id]));
    const state = rows[0]?.state;
    return state ? new Uint8Array(state.buffer, state.byteOffset, state.byteLength) : null;
  }

  async claimState(id: string, fence: number): Promise<Uint8Array | null> {
    const { rows } = await this.pg.query<{ state: Buffer | null }>('document claim', CLAIM([id, fence]));
    const state = rows[0]?.state;
    return state ? new Uint8Array(state.buffer, state.byteOffset, state.byteLength) : null;
  }

  async saveState(id: string, state: Uint8Array, fence?: number): Promise<void> {
    const bytes = Buffer.from(state.buffer, state.byteOffset, state.byteLength);
    const { rowCount } = await this.pg.query('document save', SAVE([id, bytes, state.byteLength, this.now(), fence ?? null]));
    if (rowCount) return;
    const exists = await this.pg.query('document save', EXISTS([id]));
    if (exists.rowCount === 0) throw new StorageError(ErrorCode.NOT_FOUND, `document ${id} does not exist`);
    // A save under a newer lease is stored: this writer was superseded.
    throw new LeaseLostError(`doc-persist:${id}`);
  }

  async delete(id: string): Promise<void> {
    await this.pg.query('document delete', DELETE([id]));
  }

  async countByOwner(owner: string): Promise<number> {
    const { rows } = await this.pg.query<{ n: number }>('document count', COUNT_OWNED([owner]));
    return rows[0]?.n ?? 0;
  }
}

function toRecord(row: DocumentRow): DocumentRecord {
  return {
    id: row.id,
    owner: row.owner,
    access: JSON.parse(row.access) as DocumentAccess,
    sizeBytes: row.size_bytes,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
