/**
 * Storage ports: durable state shared by every instance (documents, files, chunks,
 * vectors, upload bytes, embedding-key records). The embedded adapter is SQLite
 * (+ sqlite-vec) in a dedicated thread reached through comlink, so no query blocks
 * the event loop; instances on one machine share one database file in WAL mode and
 * one DATA_DIR for upload bytes and key records. The PostgreSQL adapter (+ pgvector)
 * keeps all of it in the database, so instances on different machines share nothing
 * on disk. Both pass test/storage.contract.ts.
 */
import type { Readable } from 'node:stream';

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
  /**
   * Makes `fence` (of the persist lease the caller just took) the document's writer
   * fence and returns the stored state, in one step. From then on a save under any
   * other fence is refused, so a writer that lost its lease while paused cannot
   * overwrite its successor. Equality, not ordering: fence counters restart with
   * their backend (memory coordination after a restart), and a claim still wins.
   * Null when the document has no saved state (or does not exist).
   */
  claimState(id: string, fence: number): Promise<Uint8Array | null>;
  /**
   * Replaces the stored Yjs state (binary, never rebuilt from text). With `fence`
   * the save is refused with LEASE_LOST unless `fence` is the document's writer
   * fence (see claimState) or none was claimed yet.
   */
  saveState(id: string, state: Uint8Array, fence?: number): Promise<void>;
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
  /** Where the uploaded bytes are kept: a path under DATA_DIR, or the upload id when an UploadStore without local files holds them. */
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

/** The fields of a file record a job may change. */
export type FilePatch = Partial<Pick<FileRecord, 'status' | 'progress' | 'error' | 'attempts' | 'chunks'>>;

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
  updateFile(id: string, patch: FilePatch): Promise<FileRecord | null>;
  listByStatus(statuses: readonly FileStatus[]): Promise<FileRecord[]>;
  /** Removes the record, its chunks and vectors. */
  deleteFile(id: string): Promise<void>;
  /**
   * Replaces every chunk and vector of the file in ONE transaction (all or nothing),
   * keyed by (file, index) so a retried or duplicated job cannot create duplicates.
   * `model` names the embedding space (provider/model/dimensions). `then` patches the
   * file record in the same transaction (e.g. `finished` with its chunk count), so
   * chunks, vectors and status are written all or nothing.
   */
  replaceChunks(fileId: string, chunks: readonly ChunkInput[], model: { name: string; dimensions: number }, then?: FilePatch): Promise<void>;
  countChunks(fileId: string): Promise<number>;
  /** Top-k by cosine within a collection; `ownerId` null = every owner (admin). */
  query(q: { collection: string; ownerId: string | null; embedding: Float32Array; k: number; model: string }): Promise<ChunkHit[]>;
}

/**
 * Uploaded bytes, by upload id (the file id). Streamed both ways: a 50 MB upload is
 * never held twice in memory by the store.
 */
export interface UploadStore {
  /** Stores the bytes under `id`, replacing any earlier bytes, all or nothing; resolves to the byte count. */
  put(id: string, bytes: Uint8Array | AsyncIterable<Uint8Array>): Promise<number>;
  /** The stored bytes as a stream; rejects with NOT_FOUND when there are none. */
  open(id: string): Promise<Readable>;
  /**
   * A path a thread on this machine can read the bytes from, when this store keeps
   * them in local files (filesystem adapter); null when they live elsewhere.
   */
  localPath(id: string): string | null;
  /** Removes the bytes; idempotent. */
  delete(id: string): Promise<void>;
}

/**
 * Embedding-key records: opaque sealed bytes by name (the key store encrypts and
 * names them; this port only keeps them), so a key set on one instance is found
 * by a job on any other.
 */
export interface KeyRecordStore {
  put(name: string, sealed: Uint8Array): Promise<void>;
  get(name: string): Promise<Uint8Array | null>;
  /** Idempotent. */
  delete(name: string): Promise<void>;
}

export type StorageKind = 'sqlite' | 'postgres';

export interface Storage {
  readonly kind: StorageKind;
  readonly documents: DocumentStore;
  readonly files: FileStore;
  readonly uploads: UploadStore;
  readonly keys: KeyRecordStore;
  /** Resolves when the store answers a trivial query (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
