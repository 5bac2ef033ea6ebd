import type { PoolClient } from 'pg';

/**
 * Schema versions, applied in order inside one transaction under an advisory lock,
 * so instances starting at once apply each step once. Never edit a released step:
 * append one. The vector extension itself is created (if missing) by `ensureVector`.
 */
const MIGRATIONS: readonly string[] = [
  // 1: documents, files, chunks + vectors, vector spaces, upload bytes, key records.
  `
  CREATE TABLE documents (
    id             text PRIMARY KEY,
    owner          text NOT NULL,
    access         text NOT NULL,            -- JSON {read: [], write: []}
    state          bytea,                    -- one merged Yjs update; NULL until first save
    size_bytes     integer NOT NULL DEFAULT 0,
    persist_fence  bigint,                   -- fence of the persist lease of the last save
    created_at     bigint NOT NULL,
    updated_at     bigint NOT NULL
  );
  CREATE TABLE files (
    id            text PRIMARY KEY,
    owner_id      text NOT NULL,
    name          text NOT NULL,
    content_type  text NOT NULL,
    collection    text NOT NULL,
    size_bytes    bigint NOT NULL,
    path          text NOT NULL,
    status        text NOT NULL,
    progress      double precision NOT NULL DEFAULT 0,
    chunks        integer NOT NULL DEFAULT 0,
    error         text,
    attempts      integer NOT NULL DEFAULT 0,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
  );
  CREATE INDEX files_status ON files (status);
  CREATE TABLE vec_spaces (
    id          serial PRIMARY KEY,
    model       text NOT NULL UNIQUE,
    dimensions  integer NOT NULL
  );
  -- (file_id, idx) is the key: a retried or duplicated job replaces, never adds.
  -- collection and owner_id are copied from the file so a query filters inside SQL.
  -- embedding has no fixed size (models differ); each space gets a partial HNSW
  -- index over a cast to its own size (PgVectorIndex.ensureSpace).
  CREATE TABLE chunks (
    file_id     text NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    idx         integer NOT NULL,
    space_id    integer NOT NULL REFERENCES vec_spaces (id),
    collection  text NOT NULL,
    owner_id    text NOT NULL,
    text        text NOT NULL,
    metadata    text NOT NULL,               -- JSON
    embedding   vector NOT NULL,
    PRIMARY KEY (file_id, idx)
  );
  CREATE INDEX chunks_scope ON chunks (space_id, collection, owner_id);
  CREATE TABLE uploads (
    id          text PRIMARY KEY,
    size_bytes  bigint NOT NULL,
    pieces      integer NOT NULL,
    created_at  bigint NOT NULL
  );
  CREATE TABLE upload_pieces (
    upload_id  text NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    data       bytea NOT NULL,
    PRIMARY KEY (upload_id, seq)
  );
  -- Uploads are mostly compressed already (PDF, DOCX): skip TOAST's compression attempt.
  ALTER TABLE upload_pieces ALTER COLUMN data SET STORAGE EXTERNAL;
  CREATE TABLE embedding_keys (
    name        text PRIMARY KEY,
    sealed      bytea NOT NULL,
    updated_at  bigint NOT NULL
  );
  `,
  // 2: the per-user document limit counts a user's documents on every create.
  `CREATE INDEX documents_owner ON documents (owner);`,
];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** Any fixed 64-bit number: the advisory lock that serialises migrations of this database. */
const MIGRATION_LOCK = 0x5357_5900_0001n;

export class PgvectorMissingError extends Error {}

/**
 * Creates the vector extension when it is missing (needs a superuser or the
 * extension's owner; trust auth here). Fails with a message naming the install
 * script when the server has no pgvector at all.
 */
export async function ensureVector(client: PoolClient): Promise<void> {
  const present = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_extension WHERE extname = 'vector'");
  if (present.rows[0]!.n !== '0') return;
  const available = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_available_extensions WHERE name = 'vector'");
  if (available.rows[0]!.n === '0') {
    throw new PgvectorMissingError('the PostgreSQL server has no pgvector extension: run scripts/pgvector-install.sh on the database host');
  }
  // In public, not the first schema of search_path: dropping a per-test schema must not drop the extension.
  await client.query('CREATE EXTENSION IF NOT EXISTS vector SCHEMA public');
}

/** Brings the schema to PG_SCHEMA_VERSION; refuses a schema written by a newer version. */
export async function migratePg(client: PoolClient, schema: string | null): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await ensureVector(client);
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query('CREATE TABLE IF NOT EXISTS switchyard_schema (version integer NOT NULL)');
    const row = await client.query<{ version: number }>('SELECT version FROM switchyard_schema');
    let version = row.rows[0]?.version ?? 0;
    if (row.rows.length === 0) await client.query('INSERT INTO switchyard_schema (version) VALUES (0)');
    if (version > PG_SCHEMA_VERSION) {
      throw new Error(`database schema version ${version} is newer than this build supports (${PG_SCHEMA_VERSION})`);
    }
    for (; version < PG_SCHEMA_VERSION; version++) await client.query(MIGRATIONS[version]!);
    await client.query('UPDATE switchyard_schema SET version = $1', [version]);
    await client.query('COMMIT');
    return version;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
