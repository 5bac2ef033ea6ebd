import type { Database, Statement } from 'better-sqlite3';
import type { DocumentAccess, DocumentRecord } from '../ports.js';
import { ErrorCode } from '../../errors.js';
import { StoreFault } from './StoreFault.js';

interface DocumentRow {
  id: string;
  owner: string;
  access: string;
  size_bytes: number;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, owner, access, size_bytes, created_at, updated_at';

/** Synchronous document queries; runs inside the storage thread only. */
export class DocumentTable {
  private readonly insert: Statement;
  private readonly select: Statement;
  private readonly selectState: Statement;
  private readonly claim: Statement;
  private readonly updateState: Statement;
  private readonly exists: Statement;
  private readonly remove: Statement;
  private readonly countOwned: Statement;

  constructor(db: Database, private readonly now: () => number) {
    this.insert = db.prepare('INSERT INTO documents (id, owner, access, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING');
    this.select = db.prepare(`SELECT ${COLUMNS} FROM documents WHERE id = ?`);
    this.selectState = db.prepare('SELECT state FROM documents WHERE id = ?');
    this.claim = db.prepare('UPDATE documents SET persist_fence = ? WHERE id = ? RETURNING state');
    // Fenced: refused when a save under a higher fence is stored (see DocumentStore.saveState).
    this.updateState = db.prepare(
      `UPDATE documents SET state = @state, size_bytes = @size, updated_at = @at,
         persist_fence = coalesce(persist_fence, @fence)
       WHERE id = @id AND (@fence IS NULL OR persist_fence IS NULL OR persist_fence = @fence)`,
    );
    this.exists = db.prepare('SELECT 1 FROM documents WHERE id = ?');
    this.remove = db.prepare('DELETE FROM documents WHERE id = ?');
    this.countOwned = db.prepare('SELECT COUNT(*) AS n FROM documents WHERE owner = ?');
  }

  create(doc: { id: string; owner: string; access: DocumentAccess }): DocumentRecord {
    const at = this.now();
    const access = { read: [...doc.access.read], write: [...doc.access.write] };
    const { changes } = this.insert.run(doc.id, doc.owner, JSON.stringify(access), at, at);
    if (changes === 0) throw new StoreFault(ErrorCode.CONFLICT, `document ${doc.id} already exists`);
    return this.get(doc.id)!;
  }

  get(id: string): DocumentRecord | null {
    const row = this.select.get(id) as DocumentRow | undefined;
    return row ? toRecord(row) : null;
  }

  loadState(id: string): Uint8Array | null {
    const row = this.selectState.get(id) as { state: Buffer | null } | undefined;
    return row?.state ? new Uint8Array(row.state.buffer, row.state.byteOffset, row.state.byteLength) : null;
  }

  claimState(id: string, fence: number): Uint8Array | null {
    const row = this.claim.get(fence, id) as { state: Buffer | null } | undefined;
    return row?.state ? new Uint8Array(row.state.buffer, row.state.byteOffset, row.state.byteLength) : null;
  }

  saveState(id: string, state: Uint8Array, fence?: number): void {
    const bytes = Buffer.from(state.buffer, state.byteOffset, state.byteLength);
    const { changes } = this.updateState.run({ state: bytes, size: state.byteLength, at: this.now(), id, fence: fence ?? null });
    if (changes > 0) return;
    if (!this.exists.get(id)) throw new StoreFault(ErrorCode.NOT_FOUND, `document ${id} does not exist`);
    // A save under a newer lease is stored: this writer was superseded.
    throw new StoreFault(ErrorCode.LEASE_LOST, `lease doc-persist:${id} was lost`);
  }

  delete(id: string): void {
    this.remove.run(id);
  }

  countByOwner(owner: string): number {
    return (this.countOwned.get(owner) as { n: number }).n;
  }
}

function toRecord(row: DocumentRow): DocumentRecord {
  return {
    id: row.id,
    owner: row.owner,
    access: JSON.parse(row.access) as DocumentAccess,
    sizeBytes: row.size_bytes,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
