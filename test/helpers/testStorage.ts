import { after } from 'node:test';
import { silentLogger } from '../../src/observability/logger.js';
import { openStorage, type Storage } from '../../src/storage/index.js';
import { dropSchema, freshSchema, TEST_DATABASE_URL } from '../storage.pgserver.js';

/**
 * `SWITCHYARD_TEST_STORAGE=postgres` runs the feature tests on PostgreSQL (CI's
 * second pass): every runtime a test helper starts gets `storage: "postgres"`,
 * `databaseUrl` = TEST_DATABASE_URL and a schema of its own. Runtimes that share a
 * DATA_DIR share their durable state on SQLite (a restart, two instances on one
 * machine), so they share one schema here: the schema is keyed by the data dir.
 * Unset or `sqlite`: nothing changes.
 */
/** The key-encryption key of every runtime of the Postgres pass (tests that set their own keep theirs). */
const TEST_KEK = 'test-key-encryption-key-0123456789abcdef';
const MODE = process.env.SWITCHYARD_TEST_STORAGE ?? 'sqlite';
if (MODE !== 'sqlite' && MODE !== 'postgres') throw new Error(`SWITCHYARD_TEST_STORAGE must be sqlite or postgres, not ${JSON.stringify(MODE)}`);
export const TEST_STORAGE: 'sqlite' | 'postgres' = MODE;

// A small pool: a test file starts several runtimes, and the shared server has ~100 connections.
const POOL_SIZE = 3;

const schemas = new Map<string, string>(); // data dir → schema
/** What still runs when the file's tests end; stopped before its schema is dropped. */
const live = new Set<{ stop(): Promise<unknown> }>();

if (TEST_STORAGE === 'postgres') {
  // Registered at import, so it is a hook of the file's root: it runs after every suite's own
  // after() hooks. Root hooks run in registration order, so a test file's own top-level after()
  // may come later: stopping what is still running first keeps the drop from pulling the
  // tables out from under a runtime's final save.
  after(async () => {
    await Promise.allSettled([...live].map((r) => r.stop()));
    await Promise.allSettled([...schemas.values()].map((s) => dropSchema(s)));
  });
}

function schemaFor(dataDir: string): string {
  let schema = schemas.get(dataDir);
  if (!schema) schemas.set(dataDir, (schema = freshSchema()));
  return schema;
}

/** Tracks a runtime or instance until the file ends (see the root after() above). */
export function trackForTeardown(r: { stop(): Promise<unknown> }): void {
  if (TEST_STORAGE === 'postgres') live.add(r);
}

/** Config overrides for a runtime on `dataDir`; {} unless the Postgres pass runs or the test chose its storage. */
export function storageOverrides(dataDir: string, overrides: Record<string, unknown>): Record<string, unknown> {
  if (TEST_STORAGE !== 'postgres' || 'storage' in overrides || 'databaseUrl' in overrides) return {};
  const postgres = { poolSize: POOL_SIZE, schema: schemaFor(dataDir), ...(overrides.postgres as object | undefined) };
  // PostgreSQL mode stores per-user embedding keys only under a configured key-encryption key (shared by every instance).
  const ingest = { keyEncryptionKey: TEST_KEK, ...(overrides.ingest as object | undefined) };
  return { storage: 'postgres', databaseUrl: TEST_DATABASE_URL, postgres, ingest };
}

/** The same as environment variables, for an instance in its own process. */
export function storageEnv(dataDir: string, env: Record<string, string>): Record<string, string> {
  if (TEST_STORAGE !== 'postgres' || 'DATABASE_URL' in env || 'STORAGE' in env) return {};
  return { INGEST_KEY_ENCRYPTION_KEY: env.INGEST_KEY_ENCRYPTION_KEY ?? TEST_KEK, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: env.DATABASE_SCHEMA ?? schemaFor(dataDir), DATABASE_POOL_SIZE: env.DATABASE_POOL_SIZE ?? `${POOL_SIZE}` };
}

/** The store a runtime started by these helpers on `dataDir` uses, opened directly (close it). */
export function openTestStorage(dataDir: string): Promise<Storage> {
  const pg = storageOverrides(dataDir, {}) as { databaseUrl?: string; postgres?: { schema: string; poolSize: number } };
  return openStorage({ kind: TEST_STORAGE, dataDir, databaseUrl: pg.databaseUrl ?? null, postgres: pg.postgres, logger: silentLogger() });
}
