import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { corpusFile, sentenceFor } from './helpers/files.js';
import { EmbeddingUpstream } from './helpers/embeddingUpstream.js';
import { TestClient } from './helpers/gateway.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { IngestClient, withOpenAiRuntime } from './ingest.helpers.js';

const FAULTY_WORKER = new URL('./fixtures/faultyWorker.js', import.meta.url).href;
const JOB_TIMEOUT_MS = 4_000;
const API_KEY = 'sk-test-SECRET-9f8e7d6c5b4a';

/** Pool faults: a hung thread (job timeout) and a crashed thread, both replaced; the job is retried and finishes. */
describe('ingestion: pool thread faults', () => {
  let t: TestRuntime;
  let alice: IngestClient;
  before(async () => {
    t = await startRuntime(
      // The timeout must outlast a healthy attempt on a loaded 2-core machine (a fresh thread included): at 1.5 s the retry timed out too.
      { threadPoolSize: 2, ingest: { embedding: { provider: 'hash' }, jobTimeoutMs: JOB_TIMEOUT_MS, retryBaseMs: 50 } },
      { ingestWorkerFilename: FAULTY_WORKER },
    );
    alice = await IngestClient.of(t.runtime, 'alice');
  });
  after(() => t.runtime.stop());

  it('aborts a job over its timeout, replaces the hung thread, and finishes on retry', async () => {
    const before = t.runtime.ingest.pool.threadIds();
    // The owner's file:status events are the record of each attempt: the first one must end in the timeout.
    const socket = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${alice.token}` });
    try {
      const file = await corpusFile(4);
      const res = await alice.upload({ ...file, name: 'hang-once.txt' });
      const rec = await alice.waitStatus(res.body.id, ['finished', 'failed'], 30_000);
      assert.equal(rec.status, 'finished', rec.error);
      assert.equal(rec.attempts, 2);
      const afterIds = t.runtime.ingest.pool.threadIds();
      assert.equal(afterIds.length, 2, 'the pool is back to full size');
      assert.ok(afterIds.some((id) => !before.includes(id)), `a new thread replaced the hung one (${before} → ${afterIds})`);
      const deferred = await socket.waitFor((f) => f.event === 'file:status' && f.data.file_id === res.body.id && f.data.status === 'deferred', 'the first attempt to be deferred');
      assert.match(String(deferred.data.error), new RegExp(`^SWY_JOB_TIMEOUT: job exceeded its timeout of ${JOB_TIMEOUT_MS} ms`));
      const statuses = socket.events('file:status').filter((f) => f.data.file_id === res.body.id).map((f) => f.data.status);
      assert.equal(statuses.filter((s) => s === 'deferred').length, 1, `one timed-out attempt (${statuses.join(' → ')})`);
    } finally {
      socket.close();
    }
  });

  it('retries a job whose thread crashed mid-task and finishes it', async () => {
    const before = t.runtime.ingest.pool.threadIds();
    const file = await corpusFile(3);
    const res = await alice.upload({ ...file, name: 'crash-once.md' });
    const rec = await alice.waitStatus(res.body.id, ['finished', 'failed'], 20_000);
    assert.equal(rec.status, 'finished', rec.error);
    assert.equal(rec.attempts, 2);
    assert.ok(t.logs.lines.some((l) => l.includes('pool task crashed its thread')));
    const afterIds = t.runtime.ingest.pool.threadIds();
    assert.ok(afterIds.some((id) => !before.includes(id)), 'the crashed thread was replaced');
    assert.equal((await alice.query('default', sentenceFor(3), 1)).body[0].file_id, res.body.id);
  });
});

/** The openai provider against a real HTTP upstream: transient vs permanent errors, and the key never leaks. */
describe('ingestion: openai-compatible upstream', () => {
  const setup = withOpenAiRuntime((url) => ({
    log: { level: 'debug', components: {} },
    ingest: { embedding: { provider: 'openai', baseUrl: url, model: 'test-embed', batchSize: 64 }, retryBaseMs: 50, jobMaxRetries: 3 },
  }));

  it('refuses an upload before enqueue when the user has no key, and a key the upstream rejects', async () => {
    const res = await setup.alice.upload(await corpusFile(2));
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'SWY_EMBEDDING_KEY_MISSING');
    setup.upstream.script = () => ({ status: 401 });
    const bad = await setup.alice.request('PUT', '/api/embedding/key', { api_key: 'sk-wrong' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'SWY_EMBEDDING_REJECTED');
    setup.upstream.script = () => null;
    const ok = await setup.alice.request('PUT', '/api/embedding/key', { api_key: API_KEY });
    assert.equal(ok.status, 200);
  });

  it('finishes after two retries when the upstream answers 500 twice, then 200', async () => {
    let failures = 0;
    setup.upstream.script = () => (failures++ < 2 ? { status: 500 } : null);
    const res = await setup.alice.upload(await corpusFile(2));
    assert.equal(res.status, 202);
    const rec = await setup.alice.waitStatus(res.body.id, ['finished', 'failed'], 15_000);
    assert.equal(rec.status, 'finished', rec.error);
    assert.equal(rec.attempts, 3);
    assert.equal(setup.upstream.requests.at(-1)!.authorization, `Bearer ${API_KEY}`, 'the key was resolved when the job ran');
    assert.equal((await setup.alice.query('default', sentenceFor(2), 1)).body[0].file_id, res.body.id);
  });

  it('fails at once, without retrying, when the upstream answers 401', async () => {
    setup.upstream.script = () => ({ status: 401, body: `{"error":{"message":"Incorrect API key provided: ${API_KEY}"}}` });
    const before = setup.upstream.requests.length;
    const res = await setup.alice.upload(await corpusFile(4));
    const rec = await setup.alice.waitStatus(res.body.id, ['finished', 'failed'], 15_000);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.attempts, 1);
    assert.match(rec.error, /^SWY_EMBEDDING_REJECTED: embedding upstream answered 401/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(setup.upstream.requests.length - before, 1, 'one request, no retry');
    setup.upstream.script = () => null;
  });

  it('never writes the API key into logs, file errors or replies', async () => {
    assert.ok(setup.t.logs.lines.length > 5, 'the scan has something to scan');
    for (const line of setup.t.logs.lines) assert.ok(!line.includes(API_KEY), `log line leaks the key: ${line}`);
    const files = await setup.t.runtime.storage.files.listByStatus(['finished', 'failed', 'queued', 'started', 'deferred', 'canceled']);
    for (const f of files) assert.ok(!JSON.stringify(f).includes(API_KEY), 'a file record holds the key');
  });
});
