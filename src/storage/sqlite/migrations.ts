import type { Database } from 'better-sqlite3';

/**
 * Schema versions, applied in order and recorded in `PRAGMA user_version`. Never edit
 * a released step: append a new one. Each runs in one IMMEDIATE transaction that
 * re-reads the version, so two instances opening a fresh file at once apply it once.
 */
const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  // 1: documents, files, chunks, vector spaces.
  (db) =>
    db.exec(`
      CREATE TABLE documents (
        id          TEXT PRIMARY KEY,
        owner       TEXT NOT NULL,
        access      TEXT NOT NULL,            -- JSON {read: [], write: []}
        state       BLOB,                     -- one merged Yjs update; NULL until first save
        size_bytes  INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
      CREATE TABLE files (
        id            TEXT PRIMARY KEY,
        owner_id      TEXT NOT NULL,
        name          TEXT NOT NULL,
        content_type  TEXT NOT NULL,
        collection    TEXT NOT NULL,
        size_bytes    INTEGER NOT NULL,
        path          TEXT NOT NULL,
        status        TEXT NOT NULL,
        progress      REAL NOT NULL DEFAULT 0,
        chunks        INTEGER NOT NULL DEFAULT 0,
        error         TEXT,
        attempts      INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      );
      CREATE INDEX files_status ON files(status);
      -- One vec0 table per embedding space: dimensions differ per model, and a vec0
      -- column has one fixed size.
      CREATE TABLE vec_spaces (
        id          INTEGER PRIMARY KEY,
        model       TEXT NOT NULL UNIQUE,
        dimensions  INTEGER NOT NULL
      );
      -- (file_id, idx) is unique: a retried or duplicated job replaces, never adds.
      -- The integer id is the rowid of the chunk's vector in its space's vec0 table.
      CREATE TABLE chunks (
        id        INTEGER PRIMARY KEY,
        file_id   TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        idx       INTEGER NOT NULL,
        text      TEXT NOT NULL,
        metadata  TEXT NOT NULL,
        space_id  INTEGER NOT NULL REFERENCES vec_spaces(id),
        UNIQUE (file_id, idx)
      );
    `),
  // 2: the fence of the persist lease under which a document was last saved.
  (db) => db.exec('ALTER TABLE documents ADD COLUMN persist_fence INTEGER'),
  // 3: the per-user document limit counts a user's documents on every create.
  (db) => db.exec('CREATE INDEX documents_owner ON documents (owner)'),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION; refuses a file written by a newer version. */
export function migrate(db: Database): number {
  const current = () => db.pragma('user_version', { simple: true }) as number;
  if (current() > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current()} is newer than this build supports (${SCHEMA_VERSION})`);
  }
  db.transaction(() => {
    for (let v = current(); v < SCHEMA_VERSION; v++) {
      MIGRATIONS[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
  return current();
}

/** The vec0 table of one embedding space. */
export function vecTable(spaceId: number): string {
  return `vec_space_${spaceId}`;
}
