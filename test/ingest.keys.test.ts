import './helpers/guard.js';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FsKeyRecordStore } from '../src/storage/index.js';
import { ApiKeyStore } from '../src/ingest/ApiKeyStore.js';
import { resolveKekRing } from '../src/ingest/keyEncryptionKeys.js';
import { corpusFile } from './helpers/files.js';
import { withOpenAiRuntime } from './ingest.helpers.js';

const JWT = 'jwt-secret-0123456789abcdef';
const KEK_A = 'kek-A-0123456789abcdef0123456789abcdef';
const KEK_B = 'kek-B-0123456789abcdef0123456789abcdef';
const API_KEY = 'sk-user-SECRET-0011223344';

const fileOf = (dir: string, userId: string) => join(dir, 'keys', `${createHash('sha256').update(userId).digest('hex')}.key`);

function storeOf(dataDir: string, configured: string | null, previous: string[] = [], jwtSecret = JWT): ApiKeyStore {
  return new ApiKeyStore(new FsKeyRecordStore(dataDir), resolveKekRing({ dataDir, configured, previous, jwtSecret }), null);
}

function isUnreadable(err: unknown): boolean {
  assert.equal((err as { code?: string }).code, 'SWY_EMBEDDING_KEY_UNREADABLE');
  return true;
}

/** Issue 13 item 11: stored embedding keys under a key-encryption key of their own. */
describe('embedding key store', () => {
  it('seals with its own key, not the JWT secret: a new JWT secret still reads the key, a new KEK does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-keys-'));
    await storeOf(dir, KEK_A).set('alice', API_KEY);
    assert.ok(!readFileSync(fileOf(dir, 'alice')).includes(API_KEY), 'not stored in clear');
    assert.equal(await storeOf(dir, KEK_A, [], 'another-jwt-secret-0123456789').resolve('alice'), API_KEY);
    await assert.rejects(storeOf(dir, KEK_B).resolve('alice'), isUnreadable);
  });

  it('binds the user id: a sealed key copied to another user does not open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-keys-'));
    const store = storeOf(dir, KEK_A);
    await store.set('alice', API_KEY);
    copyFileSync(fileOf(dir, 'alice'), fileOf(dir, 'mallory'));
    await assert.rejects(store.resolve('mallory'), isUnreadable);
    assert.equal(await store.resolve('alice'), API_KEY);
  });

  it('rotates: an old key in the ring reads it and the file is re-encrypted with the current key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-keys-'));
    await storeOf(dir, KEK_A).set('alice', API_KEY);
    const sealedByA = readFileSync(fileOf(dir, 'alice'));
    assert.equal(await storeOf(dir, KEK_B, [KEK_A]).resolve('alice'), API_KEY);
    assert.ok(!readFileSync(fileOf(dir, 'alice')).equals(sealedByA), 're-encrypted on read');
    assert.equal(await storeOf(dir, KEK_B).resolve('alice'), API_KEY, 'the old key is no longer needed');
    await assert.rejects(storeOf(dir, KEK_A).resolve('alice'), isUnreadable);
  });

  it('migrates keys sealed the old way (JWT-derived key, no associated data)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-keys-'));
    mkdirSync(join(dir, 'keys'), { recursive: true });
    const legacy = createHash('sha256').update(`switchyard-embedding-keys:${JWT}`).digest();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', legacy, iv);
    writeFileSync(fileOf(dir, 'alice'), Buffer.concat([iv, cipher.update(API_KEY, 'utf8'), cipher.final(), cipher.getAuthTag()]));
    assert.equal(await storeOf(dir, KEK_A).resolve('alice'), API_KEY);
    assert.equal(await storeOf(dir, KEK_A, [], 'the-jwt-secret-changed-since').resolve('alice'), API_KEY, 'migrated: the JWT secret no longer matters');
  });

  it('without a configured key, generates DATA_DIR/.kek (0600) once and reuses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-keys-'));
    const first = resolveKekRing({ dataDir: dir, configured: null, previous: [], jwtSecret: JWT });
    assert.equal(first.source, 'generated');
    assert.equal(statSync(join(dir, '.kek')).mode & 0o777, 0o600);
    const again = resolveKekRing({ dataDir: dir, configured: null, previous: [], jwtSecret: JWT });
    assert.equal(again.source, 'data-dir');
    assert.ok(again.current.key.equals(first.current.key));
    assert.ok(!readFileSync(join(dir, '.kek'), 'utf8').includes(JWT));
  });

  it('refuses to store a key when the key-encryption key is not shared (PostgreSQL without INGEST_KEY_ENCRYPTION_KEY); nothing is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-keys-'));
    const ring = resolveKekRing({ dataDir: dir, configured: null, previous: [], jwtSecret: JWT });
    const store = new ApiKeyStore(new FsKeyRecordStore(dir), ring, null, { refuseNewKeys: 'set INGEST_KEY_ENCRYPTION_KEY on every instance' });
    await assert.rejects(store.set('alice', API_KEY), { code: 'SWY_BAD_REQUEST', message: /INGEST_KEY_ENCRYPTION_KEY/ });
    assert.equal(await store.resolve('alice'), null);
  });

  it('a garbage file is a coded error, not a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-keys-'));
    mkdirSync(join(dir, 'keys'), { recursive: true });
    writeFileSync(fileOf(dir, 'alice'), Buffer.from([2, 1, 2, 3]));
    await assert.rejects(storeOf(dir, KEK_A).resolve('alice'), isUnreadable);
  });
});

describe('embedding key store over REST (openai provider)', () => {
  // Tampers with the key files on disk: SQLite mode's filesystem key records, whatever the pass.
  const setup = withOpenAiRuntime((url) => ({ storage: 'sqlite', ingest: { keyEncryptionKey: KEK_A, embedding: { provider: 'openai', baseUrl: url, model: 'test-embed' } } }));

  it('answers a key that no longer decrypts with 400 SWY_EMBEDDING_KEY_UNREADABLE (not a 500); setting it again heals', async () => {
    const { alice, t } = setup;
    assert.equal((await alice.request('PUT', '/api/embedding/key', { api_key: API_KEY })).status, 200);
    const dataDir = t.runtime.config.dataDir;
    const [name] = readdirSync(join(dataDir, 'keys'));
    const file = join(dataDir, 'keys', name!);
    const sealed = readFileSync(file);
    sealed[sealed.length - 1]! ^= 0xff; // tampered tag
    writeFileSync(file, sealed);
    const upload = await alice.upload(await corpusFile(4));
    assert.equal(upload.status, 400);
    assert.equal(upload.body.error.code, 'SWY_EMBEDDING_KEY_UNREADABLE');
    const query = await alice.query('default', 'anything');
    assert.equal(query.status, 400);
    assert.equal(query.body.error.code, 'SWY_EMBEDDING_KEY_UNREADABLE');
    assert.equal((await alice.request('PUT', '/api/embedding/key', { api_key: API_KEY })).status, 200);
    const again = await alice.upload(await corpusFile(4));
    assert.equal(again.status, 202);
    assert.equal((await alice.waitStatus(again.body.id, ['finished', 'failed'], 20_000)).status, 'finished');
    for (const line of t.logs.lines) assert.ok(!line.includes(API_KEY) && !line.includes(KEK_A), `a log line leaks a secret: ${line}`);
  });
});
