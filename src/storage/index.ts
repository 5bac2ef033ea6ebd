export type * from './ports.js';
export { openSqliteStorage, SqliteStorage, type SqliteStorageOptions } from './sqlite/SqliteStorage.js';
export { StorageError, StorageUnavailableError } from './errors.js';
export { DATABASE_FILE } from './sqlite/SqliteStore.js';
