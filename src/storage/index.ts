export type * from './ports.js';
export { openStorage, type OpenStorageOptions } from './openStorage.js';
export { openSqliteStorage, SqliteStorage, type SqliteStorageOptions } from './sqlite/SqliteStorage.js';
export { openPostgresStorage, PostgresStorage, type PostgresStorageOptions } from './postgres/PostgresStorage.js';
export { FsUploadStore } from './fs/FsUploadStore.js';
export { FsKeyRecordStore } from './fs/FsKeyRecordStore.js';
export { StorageError, StorageUnavailableError } from './errors.js';
export { DATABASE_FILE } from './sqlite/SqliteStore.js';
