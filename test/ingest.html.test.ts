import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as Y from 'yjs';
import { createCompactor } from '../src/docs/compact.js';
import { htmlSections } from '../src/ingest/pipeline/extract.js';
import { pathologicalHtml } from './helpers/bombs.js';
import { corpusFile, TYPES } from './helpers/files.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { IngestClient } from './ingest.helpers.js';

const FAULTY_WORKER = new URL('./fixtures/faultyWorker.js', import.meta.url).href;

describe('HTML extraction (one linear pass)', () => {
  it('splits at headings, decodes entities, drops script/style/title, keeps table cells apart', () => {
    const html =
      '<html><head><title>no</title><style>p{color:red}</style></head><body>intro<h1>A &amp; B</h1><p>first<script>if (a < b) x()</script> para</p>' +
      '<table><tr><td>c1</td><td>c2</td></tr></table><h2>Second <em>part</em></h2><p>caf&eacute;<br>line</p></body></html>';
    assert.deepEqual(htmlSections(html), [
      { text: 'intro' },
      { text: 'first para\nc1 c2', heading: 'A & B' },
      { text: 'café\nline', heading: 'Second part' },
    ]);
  });

  it('takes milliseconds on 2 MB of unclosed tags (the old regexes: the whole job timeout)', () => {
    for (const kind of ['script', 'heading'] as const) {
      const html = Buffer.from(pathologicalHtml(kind).bytes).toString('utf8');
      const started = performance.now();
      htmlSections(html);
      const ms = performance.now() - started;
      assert.ok(ms < 5_000, `${kind}: ${ms} ms`);
    }
  });
});

/**
 * Issue 13 item 8: pathological uploads cannot hold the pool, an extraction past its
 * deadline fails permanently, and document merges run on their own lane meanwhile.
 */
describe('ingestion: CPU bombs never hold the pool (real server)', () => {
  let t: TestRuntime;
  let alice: IngestClient;
  before(async () => {
    t = await startRuntime(
      { threadPoolSize: 1, ingest: { embedding: { provider: 'hash' }, extractTimeoutMs: 5_000, retryBaseMs: 50 } },
      { ingestWorkerFilename: FAULTY_WORKER },
    );
    alice = await IngestClient.of(t.runtime, 'alice');
    const warm = await alice.upload(await corpusFile(2)); // the thread loads its libraries outside the measured part
    assert.equal((await alice.waitStatus(warm.body.id, ['finished', 'failed'], 30_000)).status, 'finished');
  });
  after(() => t.runtime.stop());

  it('two 2 MB pathological HTML uploads settle within 10 s each; a document load meanwhile takes < 2 s', async () => {
    const started = Date.now();
    const uploads = await Promise.all((['script', 'heading'] as const).map((k) => alice.upload(pathologicalHtml(k))));
    for (const u of uploads) assert.equal(u.status, 202);
    const settled = Promise.all(
      uploads.map(async (u) => {
        const rec = await alice.waitStatus(u.body.id, ['finished', 'failed'], 10_000);
        return { rec, ms: Date.now() - started };
      }),
    );
    const loadStarted = Date.now();
    const created = await alice.request('POST', '/api/docs', {});
    assert.equal(created.status, 201);
    const loaded = await alice.request('GET', `/api/docs/${created.body.id}`);
    assert.equal(loaded.status, 200);
    assert.ok(Date.now() - loadStarted < 2_000, `document load took ${Date.now() - loadStarted} ms`);
    const [script, heading] = await settled;
    assert.equal(script!.rec.status, 'failed', JSON.stringify(script!.rec));
    assert.match(script!.rec.error, /^SWY_FILE_CORRUPT: patho-script\.html contains no text/);
    assert.equal(script!.rec.attempts, 1);
    assert.equal(heading!.rec.status, 'finished', heading!.rec.error);
    for (const s of [script!, heading!]) assert.ok(s.ms < 10_000, `settled after ${s.ms} ms`);
  });

  it('an extraction past its deadline fails permanently at once; merges and other files go on', async () => {
    const hung = await alice.upload({ name: 'hang-always.txt', contentType: TYPES.txt, bytes: Buffer.from('spins its thread every time') });
    await alice.waitStatus(hung.body.id, ['started'], 5_000);
    // The only bulk thread spins now: a document merge must not wait for it.
    const source = new Y.Doc();
    const updates: Uint8Array[] = [];
    source.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 200; i++) source.getText('body').insert(0, `${i}:${'y'.repeat(1_000)}`);
    const mergeStarted = Date.now();
    const merged = await createCompactor(t.runtime.ingest.pool, 1_024)(updates);
    const mergeMs = Date.now() - mergeStarted;
    const replica = new Y.Doc();
    Y.applyUpdate(replica, merged);
    assert.equal(replica.getText('body').toString(), source.getText('body').toString());
    assert.ok(mergeMs < 2_000, `a merge took ${mergeMs} ms while extraction held the bulk thread`);

    const rec = await alice.waitStatus(hung.body.id, ['finished', 'failed'], 15_000);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error, /^SWY_POOL_TASK_TIMEOUT: extraction of hang-always\.txt did not finish within 5000 ms; its thread was terminated/);
    assert.equal(rec.attempts, 1, 'not retried: the same bytes would hold the thread again');
    const next = await alice.upload(await corpusFile(2));
    assert.equal((await alice.waitStatus(next.body.id, ['finished', 'failed'], 15_000)).status, 'finished');
  });
});
