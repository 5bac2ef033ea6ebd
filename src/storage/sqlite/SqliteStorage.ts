import type { Logger } from '../../observability/logger.js';
import { FsKeyRecordStore } from '../fs/FsKeyRecordStore.js';
import { FsUploadStore } from '../fs/FsUploadStore.js';
import type { ChunkHit, ChunkInput, DocumentAccess, DocumentRecord, DocumentStore, FileRecord, FileStatus, FileStore, KeyRecordStore, Storage, UploadStore } from '../ports.js';
import type { FilePatch, NewFile } from './FileTable.js';
import { StorageThread } from './StorageThread.js';

export interface SqliteStorageOptions {
  /** The database file is `<dataDir>/switchyard.db` (DATA_DIR). */
  readonly dataDir: string;
  readonly logger: Logger;
  /** SQLite busy_timeout: how long a write waits for another instance's lock. @default 5_000 // ms */
  readonly busyTimeoutMs?: number;
}

/**
 * The ports over the storage thread: each method is one message to it. Upload bytes
 * and key records stay files under DATA_DIR (uploads/, keys/), as they always were.
 */
export class SqliteStorage implements Storage {
  readonly kind = 'sqlite' as const;
  readonly documents: DocumentStore;
  readonly files: FileStore;
  readonly uploads: UploadStore;
  readonly keys: KeyRecordStore;

  private constructor(readonly thread: StorageThread, dataDir: string) {
    this.documents = {
      create: (doc: { id: string; owner: string; access: DocumentAccess }): Promise<DocumentRecord> => thread.call('docCreate', doc),
      get: (id: string) => thread.call('docGet', id),
      loadState: (id: string) => thread.call('docLoadState', id),
      claimState: (id: string, fence: number) => thread.call('docClaimState', id, fence),
      saveState: (id: string, state: Uint8Array, fence?: number) => thread.call('docSaveState', id, state, fence),
      delete: (id: string) => thread.call('docDelete', id),
      countByOwner: (owner: string) => thread.call('docCountByOwner', owner),
    };
    this.files = {
      createFile: (file: NewFile): Promise<FileRecord> => thread.call('fileCreate', file),
      getFile: (id: string) => thread.call('fileGet', id),
      updateFile: (id: string, patch: FilePatch) => thread.call('fileUpdate', id, patch),
      listByStatus: (statuses: readonly FileStatus[]) => thread.call('fileList', statuses),
      deleteFile: (id: string) => thread.call('fileDelete', id),
      replaceChunks: (fileId: string, chunks: readonly ChunkInput[], model: { name: string; dimensions: number }, then?: FilePatch) =>
        thread.call('chunksReplace', fileId, chunks, model, then),
      countChunks: (fileId: string) => thread.call('chunksCount', fileId),
      query: (q: { collection: string; ownerId: string | null; embedding: Float32Array; k: number; model: string }): Promise<ChunkHit[]> =>
        thread.call('query', q),
    };
    this.uploads = new FsUploadStore(dataDir);
    this.keys = new FsKeyRecordStore(dataDir);
    Object.freeze(this.documents);
    Object.freeze(this.files);
  }

  static async open(options: SqliteStorageOptions): Promise<SqliteStorage> {
    return new SqliteStorage(await StorageThread.start(options), options.dataDir);
  }

  async ping(): Promise<void> {
    await this.thread.call('schemaVersion');
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

/** Opens `<dataDir>/switchyard.db` (WAL, migrated) in its own thread. */
export function openSqliteStorage(options: SqliteStorageOptions): Promise<SqliteStorage> {
  return SqliteStorage.open(options);
}
