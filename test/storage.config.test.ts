import './helpers/guard.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config/loadConfig.js';
import { ConfigError } from '../src/errors.js';

test('DATABASE_URL alone selects PostgreSQL storage; STORAGE=sqlite keeps SQLite', () => {
  assert.equal(loadConfig({}).storage, 'sqlite', 'the embedded default is unchanged');
  const pg = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/app', DATABASE_POOL_SIZE: '4', PGVECTOR_EF_SEARCH: '64' });
  assert.deepEqual([pg.storage, pg.databaseUrl, pg.postgres.poolSize, pg.postgres.efSearch], ['postgres', 'postgres://u@db:5432/app', 4, 64]);
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u@db/app', STORAGE: 'sqlite' }).storage, 'sqlite');
});

test('bad storage settings fail at start naming the key', () => {
  assert.throws(() => loadConfig({ STORAGE: 'postgres' }), (err: unknown) => err instanceof ConfigError && /databaseUrl.*required/.test(err.message));
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://db/app' }), (err: unknown) => err instanceof ConfigError && /databaseUrl.*postgres:\/\//.test(err.message));
  assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/app', DATABASE_POOL_SIZE: '0' }), (err: unknown) => err instanceof ConfigError && /postgres\.poolSize/.test(err.message));
  assert.throws(() => loadConfig({ DATABASE_SCHEMA: 'Robert"; DROP' }), (err: unknown) => err instanceof ConfigError && /postgres\.schema/.test(err.message));
  assert.throws(() => loadConfig({ UPLOAD_RETENTION: 'forever' }), (err: unknown) => err instanceof ConfigError && /ingest\.uploadRetention/.test(err.message));
});
