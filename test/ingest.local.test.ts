import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeDocx, makePdf, TYPES } from './helpers/files.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { IngestClient } from './ingest.helpers.js';

/** The default `local` provider (Universal Sentence Encoder lite, offline): semantic retrieval end to end. */
describe('ingestion with the local embedding model', () => {
  let t: TestRuntime;
  let alice: IngestClient;
  before(async () => {
    t = await startRuntime({ threadPoolSize: 1, ingest: { embedding: { provider: 'local', batchSize: 16 }, chunkTokens: 48, chunkOverlapTokens: 0 } });
    alice = await IngestClient.of(t.runtime, 'alice');
  });
  after(() => t.runtime.stop());

  it('finds the file whose chunk answers a paraphrased question first', async () => {
    const cooking = await makePdf([
      'To bake sourdough bread, feed the starter the night before, mix flour and water, and let the dough rise slowly.',
      'Bake the loaf in a hot covered pot so the crust turns dark and crisp.',
    ]);
    const space = await makeDocx([
      { heading: 'Orbits', text: 'The telescope tracked a comet as it swung around the sun on its long elliptical orbit.' },
      { heading: 'Planets', text: 'Jupiter is the largest planet in the solar system and has dozens of moons.' },
    ]);
    const a = await alice.upload({ name: 'bread.pdf', contentType: TYPES.pdf, bytes: cooking }, 'mixed');
    const b = await alice.upload({ name: 'astro.docx', contentType: TYPES.docx, bytes: space }, 'mixed');
    for (const id of [a.body.id, b.body.id]) assert.equal((await alice.waitStatus(id, ['finished', 'failed'], 60_000)).status, 'finished');
    const bread = (await alice.query('mixed', 'how do I make a loaf of bread at home?', 3)).body;
    assert.equal(bread[0].file_id, a.body.id);
    const moons = (await alice.query('mixed', 'which planet is the biggest?', 3)).body;
    assert.equal(moons[0].file_id, b.body.id);
    assert.equal(moons[0].metadata.heading, 'Planets');
    assert.match(t.runtime.ingest.embeddings.space, /^local:universal-sentence-encoder-lite:512$/);
  });
});
