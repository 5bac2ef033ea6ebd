import type { Logger } from '../observability/logger.js';
import type { Storage, StorageKind } from './ports.js';
import { openPostgresStorage } from './postgres/PostgresStorage.js';
import { openSqliteStorage } from './sqlite/SqliteStorage.js';

export interface OpenStorageOptions {
  readonly kind: StorageKind;
  /** SQLite file, upload bytes and key records (sqlite); unused by postgres. */
  readonly dataDir: string;
  /** Required for postgres (DATABASE_URL). */
  readonly databaseUrl: string | null;
  readonly postgres?: { readonly poolSize?: number; readonly efSearch?: number; readonly schema?: string | null };
  readonly logger: Logger;
}

/** The adapter the configuration chose; the composition root calls this once. */
export function openStorage(options: OpenStorageOptions): Promise<Storage> {
  if (options.kind === 'postgres') {
    if (!options.databaseUrl) throw new Error('storage "postgres" needs databaseUrl (DATABASE_URL)');
    return openPostgresStorage({ url: options.databaseUrl, ...options.postgres, logger: options.logger });
  }
  return openSqliteStorage({ dataDir: options.dataDir, logger: options.logger });
}
