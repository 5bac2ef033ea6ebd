import './helpers/guard.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { silentLogger } from '../src/observability/logger.js';
import { DATABASE_FILE, openSqliteStorage } from '../src/storage/index.js';
import { storageContract } from './storage.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'swy-storage-'));
const open = () => openSqliteStorage({ dataDir: join(dir, 'nested'), logger: silentLogger() });

storageContract('sqlite', async () => {
  const storage = await open();
  return {
    storage,
    // Another instance on the same machine: the same DATA_DIR.
    other: open,
    closed: async () => {
      const s = await openSqliteStorage({ dataDir: join(dir, 'closing'), logger: silentLogger() });
      await s.close();
      return s;
    },
    cleanup: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

it('sqlite keeps <dataDir>/switchyard.db, uploads/ and keys/ under DATA_DIR (the embedded layout)', async () => {
  const d = mkdtempSync(join(tmpdir(), 'swy-layout-'));
  const s = await openSqliteStorage({ dataDir: d, logger: silentLogger() });
  try {
    await s.uploads.put('u1', Buffer.from('abc'));
    await s.keys.put('k1', new Uint8Array([1]));
    assert.ok(existsSync(join(d, DATABASE_FILE)));
    assert.ok(existsSync(join(d, 'uploads', 'u1')));
    assert.equal(s.uploads.localPath('u1'), join(d, 'uploads', 'u1'));
    assert.ok(existsSync(join(d, 'keys', 'k1.key')));
  } finally {
    await s.close();
    rmSync(d, { recursive: true, force: true });
  }
});
