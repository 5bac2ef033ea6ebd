import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makePdf, sentenceFor, TYPES } from './helpers/files.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { rawUpload } from './helpers/rawHttp.js';
import { IngestClient } from './ingest.helpers.js';

const MAX_FILE_BYTES = 64 * 1024;
/** routes.ts lets multipart framing add this much on top of maxFileBytes. */
const MULTIPART_SLACK_BYTES = 64 * 1024;
const MAX_PAGES = 3;

/** ingest.maxFileBytes and ingest.maxPages against a real server and real files. */
describe('ingestion limits', () => {
  let t: TestRuntime;
  let alice: IngestClient;
  before(async () => {
    t = await startRuntime({ ingest: { embedding: { provider: 'hash' }, maxFileBytes: MAX_FILE_BYTES, maxPages: MAX_PAGES, retryBaseMs: 50 } });
    alice = await IngestClient.of(t.runtime, 'alice');
  });
  after(() => t.runtime.stop());

  /** Real prose of exactly `n` bytes (ASCII). */
  const exactly = (n: number) => new TextEncoder().encode(Array.from({ length: Math.ceil(n / 20) }, (_, i) => sentenceFor(i % 40)).join(' ').slice(0, n));
  const text = (bytes: number) => ({ name: 'big.txt', contentType: TYPES.txt, bytes: new Uint8Array(bytes).fill(0x61) });

  it('a file over maxFileBytes is refused with 413 SWY_FILE_TOO_LARGE and nothing is stored', async () => {
    const res = await alice.upload(text(MAX_FILE_BYTES + 1));
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'SWY_FILE_TOO_LARGE');
    assert.match(res.body.error.message, new RegExp(`larger than ${MAX_FILE_BYTES} bytes`));
    const stored = await t.runtime.storage.files.listByStatus(['queued', 'started', 'deferred', 'finished', 'failed', 'canceled']);
    assert.equal(stored.filter((f) => f.name === 'big.txt').length, 0, 'no file record for the refused upload');
  });

  it('a body past maxFileBytes plus the multipart allowance is refused on its length: 413 SWY_PAYLOAD_TOO_LARGE', async () => {
    // A raw client: fetch may report the server's close mid-body as a reset instead of the reply.
    const reply = await rawUpload({
      port: t.runtime.port,
      path: '/api/files',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': TYPES.txt, 'x-filename': 'huge.txt' },
      bodyBytes: MAX_FILE_BYTES + MULTIPART_SLACK_BYTES + 1,
    });
    assert.equal(reply.status, 413);
    assert.equal((JSON.parse(reply.body) as { error: { code: string } }).error.code, 'SWY_PAYLOAD_TOO_LARGE');
  });

  it('a file exactly at maxFileBytes is accepted', async () => {
    assert.equal(exactly(MAX_FILE_BYTES).byteLength, MAX_FILE_BYTES);
    const res = await alice.upload({ name: 'edge.txt', contentType: TYPES.txt, bytes: exactly(MAX_FILE_BYTES) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const rec = await alice.waitStatus(res.body.id, ['finished', 'failed']);
    assert.equal(rec.status, 'finished', rec.error);
  });

  it(`a PDF with maxPages + 1 pages ends failed with a permanent, clear error (no retry)`, async () => {
    const pdf = await makePdf(Array.from({ length: MAX_PAGES + 1 }, (_, i) => sentenceFor(i)));
    assert.ok(pdf.byteLength < MAX_FILE_BYTES, 'the page limit, not the size limit, is what this file hits');
    const res = await alice.upload({ name: 'long.pdf', contentType: TYPES.pdf, bytes: pdf });
    assert.equal(res.status, 202);
    const rec = await alice.waitStatus(res.body.id, ['finished', 'failed']);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.attempts, 1, 'a permanent error is not retried');
    assert.match(rec.error, new RegExp(`^SWY_FILE_TOO_LARGE: long\\.pdf has ${MAX_PAGES + 1} pages; the limit is ${MAX_PAGES}`));
    assert.equal(rec.chunks, 0);
  });

  it('a PDF with exactly maxPages pages is ingested', async () => {
    const pdf = await makePdf(Array.from({ length: MAX_PAGES }, (_, i) => sentenceFor(i)));
    const res = await alice.upload({ name: 'ok.pdf', contentType: TYPES.pdf, bytes: pdf });
    const rec = await alice.waitStatus(res.body.id, ['finished', 'failed']);
    assert.equal(rec.status, 'finished', rec.error);
    assert.ok(rec.chunks > 0);
  });
});
