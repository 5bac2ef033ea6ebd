/**
 * Storage ports: durable state shared by every instance (documents, files, chunks,
 * vectors). The embedded adapter is SQLite (+ sqlite-vec) in a dedicated thread
 * reached through comlink, so no query blocks the event loop; instances on one
 * machine share one database file in WAL mode. A Postgres adapter can take its
 * place behind the same ports.
 */

export interface DocumentAccess {
  /** User ids allowed to read; `"*"` = any signed-in user. */
  readonly read: readonly string[];
  /** User ids allowed to write (implies read); `"*"` = any signed-in user. */
  readonly write: readonly string[];
}

export interface DocumentRecord {
  readonly id: string;
  readonly owner: string;
  readonly access: DocumentAccess;
  /** Size of the stored Yjs state, bytes. */
  readonly sizeBytes: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface DocumentStore {
  /** Creates the document record; rejects with a conflict error when the id exists. */
  create(doc: { id: string; owner: string; access: DocumentAccess }): Promise<DocumentRecord>;
  get(id: string): Promise<DocumentRecord | null>;
  /** The stored Yjs state (one merged update), or null when nothing was saved yet. */
  loadState(id: string): Promise<Uint8Array | null>;
  /** Replaces the stored Yjs state (binary, never rebuilt from text). */
  saveState(id: string, state: Uint8Array): Promise<void>;
  delete(id: string): Promise<void>;
  /** How many documents `owner` owns (the per-user document limit, limits.docsPerUser). */
  countByOwner(owner: string): Promise<number>;
}

export type FileStatus = 'queued' | 'started' | 'finished' | 'failed' | 'deferred' | 'canceled';

export interface FileRecord {
  readonly id: string;
  readonly ownerId: string;
  readonly name: string;
  readonly contentType: string;
  readonly collection: string;
  readonly sizeBytes: number;
  /** Where the uploaded bytes are kept (under DATA_DIR). */
  readonly path: string;
  readonly status: FileStatus;
  /** 0..1 */
  readonly progress: number;
  readonly chunks: number;
  readonly error: string | null;
  readonly attempts: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ChunkInput {
  readonly index: number;
  readonly text: string;
  /** Page, heading, offsets… */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly embedding: Float32Array;
}

export interface ChunkHit {
  readonly fileId: string;
  readonly chunk: number;
  readonly text: string;
  /** Cosine similarity, higher is closer. */
  readonly score: number;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface FileStore {
  createFile(file: Omit<FileRecord, 'status' | 'progress' | 'chunks' | 'error' | 'attempts' | 'createdAt' | 'updatedAt'>): Promise<FileRecord>;
  getFile(id: string): Promise<FileRecord | null>;
  /** Patches status/progress/error/attempts/chunks; returns the new record (null when gone). */
  updateFile(id: string, patch: Partial<Pick<FileRecord, 'status' | 'progress' | 'error' | 'attempts' | 'chunks'>>): Promise<FileRecord | null>;
  listByStatus(statuses: readonly FileStatus[]): Promise<FileRecord[]>;
  /** Removes the record, its chunks and vectors. */
  deleteFile(id: string): Promise<void>;
  /**
   * Replaces every chunk and vector of the file in ONE transaction (all or nothing),
   * keyed by (file, index) so a retried or duplicated job cannot create duplicates.
   * `model` names the embedding space (provider/model/dimensions).
   */
  replaceChunks(fileId: string, chunks: readonly ChunkInput[], model: { name: string; dimensions: number }): Promise<void>;
  countChunks(fileId: string): Promise<number>;
  /** Top-k by cosine within a collection; `ownerId` null = every owner (admin). */
  query(q: { collection: string; ownerId: string | null; embedding: Float32Array; k: number; model: string }): Promise<ChunkHit[]>;
}

export interface Storage {
  readonly documents: DocumentStore;
  readonly files: FileStore;
  close(): Promise<void>;
}
