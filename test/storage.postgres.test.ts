import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { PG_SCHEMA_VERSION } from '../src/storage/postgres/migrations.js';
import { silentLogger } from '../src/observability/logger.js';
import { openPostgresStorage, type PostgresStorage } from '../src/storage/index.js';
import { storageContract } from './storage.contract.js';
import { describePostgres, dropSchema, freshSchema } from './storage.pgserver.js';

await describePostgres('postgres storage', (url) => {
  const schema = freshSchema();
  const open = () => openPostgresStorage({ url, schema, poolSize: 4, logger: silentLogger() });
  after(() => dropSchema(schema));

  storageContract('postgres', async () => {
    const storage = await open();
    return {
      storage,
      // Another instance on another machine: nothing shared but the database.
      other: open,
      closed: async () => {
        const s = await open();
        await s.close();
        return s;
      },
      cleanup: () => storage.close(),
    };
  });

  it('two instances migrating one fresh schema at once apply each step once', async () => {
    const fresh = freshSchema();
    let stores: PostgresStorage[] = [];
    try {
      stores = await Promise.all([1, 2, 3].map(() => openPostgresStorage({ url, schema: fresh, poolSize: 1, logger: silentLogger() })));
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const { rows } = await c.query(`SELECT version FROM "${fresh}".switchyard_schema`);
      await c.end();
      assert.deepEqual(rows, [{ version: PG_SCHEMA_VERSION }], 'one row, at the latest version');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropSchema(fresh);
    }
  });

  it('a space gets an HNSW (cosine) index and queries use it', async () => {
    const s = await open();
    try {
      await s.files.createFile({ id: 'hnsw-f', ownerId: 'o', collection: 'c', name: 'n', contentType: 'text/plain', sizeBytes: 1, path: 'p' });
      await s.files.replaceChunks('hnsw-f', [{ index: 0, text: 't', metadata: {}, embedding: new Float32Array([1, 2, 3, 4]) }], { name: 'test/hnsw/4', dimensions: 4 });
      const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema},public` });
      await c.connect();
      try {
        const { rows } = await c.query("SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'chunks_hnsw_%'", [schema]);
        assert.ok(rows.some((r) => /USING hnsw .*vector_cosine_ops/.test(r.indexdef)), JSON.stringify(rows));
        const space = (await c.query("SELECT id FROM vec_spaces WHERE model = 'test/hnsw/4'")).rows[0].id;
        await c.query('SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_indexscan = on');
        await c.query('SET enable_sort = off');
        const plan = await c.query(
          `EXPLAIN SELECT file_id FROM chunks WHERE space_id = ${space} AND collection = 'c' ORDER BY (embedding::vector(4)) <=> '[1,2,3,4]'::vector(4) LIMIT 5`,
        );
        assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /chunks_hnsw_/);
      } finally {
        await c.end();
      }
    } finally {
      await s.close();
    }
  });

  it('an unreachable server fails open with STORAGE_UNAVAILABLE, not a hang', async () => {
    await assert.rejects(
      openPostgresStorage({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 2_000, logger: silentLogger() }),
      { code: 'SWY_STORAGE_UNAVAILABLE' },
    );
  });
});
