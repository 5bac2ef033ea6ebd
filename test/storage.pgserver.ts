import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';

/**
 * PostgreSQL for tests: the server at TEST_DATABASE_URL (default the machine's
 * loopback server, trust auth, database `test`) with pgvector available. Without
 * one, Postgres suites are skipped with one loud line — or fail when
 * SWITCHYARD_REQUIRE_POSTGRES=1 (CI), because a silent skip proves nothing.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresProblem(url = TEST_DATABASE_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
  } catch (err) {
    return `no PostgreSQL server answers at ${url.replace(/\/\/[^@]*@/, '//')} (${(err as Error).message}): start PostgreSQL 15 (or set TEST_DATABASE_URL), then run sudo scripts/pgvector-install.sh`;
  }
  try {
    const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'vector'");
    if (rows[0].n === 0) return 'the PostgreSQL server has no pgvector: run `sudo scripts/pgvector-install.sh`';
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name no other run uses; drop it with dropSchema. */
export function freshSchema(): string {
  return `swy_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

export async function dropSchema(schema: string, url = TEST_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** A suite that needs PostgreSQL + pgvector. Use with top-level await. */
export async function describePostgres(name: string, fn: (url: string) => void): Promise<void> {
  const problem = await postgresProblem();
  if (problem) {
    if (process.env.SWITCHYARD_REQUIRE_POSTGRES === '1') throw new Error(`SWITCHYARD_REQUIRE_POSTGRES=1 but ${problem}`);
    console.warn(`!!! SKIPPING PostgreSQL tests: ${problem}`);
    describe(name, () => it('needs PostgreSQL with pgvector', { skip: problem }, () => {}));
    return;
  }
  describe(name, () => fn(TEST_DATABASE_URL));
}
