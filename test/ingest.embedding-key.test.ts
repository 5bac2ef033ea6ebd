import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EmbeddingUpstream } from './helpers/embeddingUpstream.js';
import { corpusFile } from './helpers/files.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { IngestClient } from './ingest.helpers.js';

const ALICE_KEY = 'sk-alice-0123456789abcdef';
const BOB_KEY = 'sk-bob-fedcba9876543210';

/**
 * DELETE /api/embedding/key against the openai provider with no server-wide key: a user's
 * key is what lets their uploads run, so its removal is observable in their next upload
 * and in the key the upstream receives.
 */
describe('DELETE /api/embedding/key', () => {
  let upstream: EmbeddingUpstream;
  let t: TestRuntime;
  let alice: IngestClient;
  let bob: IngestClient;
  before(async () => {
    upstream = await EmbeddingUpstream.start();
    t = await startRuntime({ threadPoolSize: 1, ingest: { embedding: { provider: 'openai', baseUrl: upstream.url, model: 'test-embed' }, retryBaseMs: 50 } });
    [alice, bob] = await Promise.all([IngestClient.of(t.runtime, 'alice'), IngestClient.of(t.runtime, 'bob')]);
    assert.equal((await alice.request('PUT', '/api/embedding/key', { api_key: ALICE_KEY })).status, 200);
    assert.equal((await bob.request('PUT', '/api/embedding/key', { api_key: BOB_KEY })).status, 200);
  });
  after(async () => {
    await t.runtime.stop();
    await upstream.close();
  });

  it('unauthenticated: 401 SWY_UNAUTHORIZED, and no key is touched', async () => {
    const res = await fetch(`http://127.0.0.1:${t.runtime.port}/api/embedding/key`, { method: 'DELETE' });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as any).error.code, 'SWY_UNAUTHORIZED');
    const bad = await fetch(`http://127.0.0.1:${t.runtime.port}/api/embedding/key`, { method: 'DELETE', headers: { authorization: 'Bearer forged.token.value' } });
    assert.equal(bad.status, 401);
    const upload = await alice.upload(await corpusFile(1));
    assert.equal(upload.status, 202, 'alice still has her key');
    assert.equal((await alice.waitStatus(upload.body.id, ['finished', 'failed'])).status, 'finished');
  });

  it('removes the caller’s key: her next upload is refused with SWY_EMBEDDING_KEY_MISSING', async () => {
    const res = await alice.request('DELETE', '/api/embedding/key');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { removed: true });
    const upload = await alice.upload(await corpusFile(2));
    assert.equal(upload.status, 400);
    assert.equal(upload.body.error.code, 'SWY_EMBEDDING_KEY_MISSING');
    const query = await alice.query('default', 'anything', 1);
    assert.equal(query.body.error.code, 'SWY_EMBEDDING_KEY_MISSING');
  });

  it('another user’s key is untouched: bob’s upload runs with bob’s key', async () => {
    const before = upstream.requests.length;
    const res = await bob.upload(await corpusFile(3));
    assert.equal(res.status, 202);
    const rec = await bob.waitStatus(res.body.id, ['finished', 'failed']);
    assert.equal(rec.status, 'finished', rec.error);
    const sent = upstream.requests.slice(before).map((r) => r.authorization);
    assert.ok(sent.length > 0 && sent.every((a) => a === `Bearer ${BOB_KEY}`), `the upstream saw bob’s key only: ${sent.length} requests`);
  });

  it('deleting when no key is stored is harmless (idempotent)', async () => {
    const res = await alice.request('DELETE', '/api/embedding/key');
    assert.equal(res.status, 200);
    assert.equal((await bob.upload(await corpusFile(4))).status, 202);
  });
});
