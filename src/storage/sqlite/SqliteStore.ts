import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import type { ChunkHit, ChunkInput, DocumentAccess, DocumentRecord, FileRecord, FileStatus } from '../ports.js';
import { DocumentTable } from './DocumentTable.js';
import { FileTable, type FilePatch, type NewFile } from './FileTable.js';
import { migrate } from './migrations.js';
import { VectorIndex } from './VectorIndex.js';

export interface SqliteStoreOptions {
  /** The database is `<dataDir>/switchyard.db`. */
  readonly dataDir: string;
  /** How long a writer waits for another connection's lock before SQLITE_BUSY. @default 5_000 // ms */
  readonly busyTimeoutMs?: number;
}

export const DATABASE_FILE = 'switchyard.db';

/**
 * The whole store over one better-sqlite3 connection, synchronous. It lives in the
 * storage thread (worker.ts); the main thread only ever sees it through comlink.
 * Writes use IMMEDIATE transactions: several instances share the file in WAL mode,
 * and a deferred transaction that upgrades to a writer can fail with SQLITE_BUSY
 * without waiting on busy_timeout.
 */
export class SqliteStore {
  private readonly db: Database.Database;
  private readonly docs: DocumentTable;
  private readonly files: FileTable;
  private readonly vectors: VectorIndex;
  /** Transactions built once (better-sqlite3 wraps the function on each `transaction()` call). */
  private readonly deleteTx: (id: string) => void;
  private readonly replaceTx: (fileId: string, chunks: readonly ChunkInput[], model: { name: string; dimensions: number }, then?: FilePatch) => void;
  readonly schemaVersion: number;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.db = new Database(join(options.dataDir, DATABASE_FILE));
    try {
      this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5_000}`);
      this.db.pragma('journal_mode = WAL');
      // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits).
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      // Vector scans read every chunk of a collection: mapping the file (up to 1 GiB) instead of
      // copying pages through the page cache roughly halved exact-search time at 100k × 512-d.
      this.db.pragma('mmap_size = 1073741824');
      this.db.pragma('cache_size = -65536'); // 64 MiB
      sqliteVec.load(this.db);
      this.schemaVersion = migrate(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    const now = () => Date.now();
    this.docs = new DocumentTable(this.db, now);
    this.files = new FileTable(this.db, now);
    this.vectors = new VectorIndex(this.db);
    const deleteTx = this.db.transaction((id: string) => {
      this.vectors.removeFile(id);
      this.files.delete(id);
    });
    const replaceTx = this.db.transaction((fileId: string, chunks: readonly ChunkInput[], model: { name: string; dimensions: number }, then?: FilePatch) => {
      this.vectors.replace(fileId, chunks, model);
      if (then) this.files.update(fileId, then);
    });
    this.deleteTx = (id) => deleteTx.immediate(id);
    this.replaceTx = (fileId, chunks, model, then) => replaceTx.immediate(fileId, chunks, model, then);
  }

  docCreate(doc: { id: string; owner: string; access: DocumentAccess }): DocumentRecord {
    return this.docs.create(doc);
  }
  docGet(id: string): DocumentRecord | null {
    return this.docs.get(id);
  }
  docLoadState(id: string): Uint8Array | null {
    return this.docs.loadState(id);
  }
  docClaimState(id: string, fence: number): Uint8Array | null {
    return this.docs.claimState(id, fence);
  }
  docSaveState(id: string, state: Uint8Array, fence?: number): void {
    this.docs.saveState(id, state, fence);
  }
  docDelete(id: string): void {
    this.docs.delete(id);
  }
  docCountByOwner(owner: string): number {
    return this.docs.countByOwner(owner);
  }

  fileCreate(file: NewFile): FileRecord {
    return this.files.create(file);
  }
  fileGet(id: string): FileRecord | null {
    return this.files.get(id);
  }
  fileUpdate(id: string, patch: FilePatch): FileRecord | null {
    return this.files.update(id, patch);
  }
  fileList(statuses: readonly FileStatus[]): FileRecord[] {
    return this.files.listByStatus(statuses);
  }
  fileDelete(id: string): void {
    this.deleteTx(id);
  }

  /** Chunks, vectors and the `then` patch of the record in one IMMEDIATE transaction. */
  chunksReplace(fileId: string, chunks: readonly ChunkInput[], model: { name: string; dimensions: number }, then?: FilePatch): void {
    this.replaceTx(fileId, chunks, model, then);
  }
  chunksCount(fileId: string): number {
    return this.vectors.count(fileId);
  }
  query(q: { collection: string; ownerId: string | null; embedding: Float32Array; k: number; model: string }): ChunkHit[] {
    return this.vectors.query(q);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
