import './helpers/guard.js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChildInstance } from './helpers/runtime.js';

/** A preload that reports, as a JSON log line, every TF.js / model module the MAIN thread loads. */
const PRELOAD = `
const { isMainThread } = require('node:worker_threads');
const Module = require('node:module');
const load = Module._load;
Module._load = function (request) {
  if (isMainThread && /@tensorflow|@energetic-ai/.test(request)) process.stdout.write(JSON.stringify({ msg: 'main thread loaded', request }) + '\\n');
  return load.apply(this, arguments);
};
`;

/** Issue 11 item 4: the embedding model's TF.js lives in pool threads only (~13 MB of RSS in the main thread before). */
describe('the main thread never loads TF.js', () => {
  let server: ChildInstance;
  before(async () => {
    const preload = join(mkdtempSync(join(tmpdir(), 'swy-preload-')), 'trace.cjs');
    writeFileSync(preload, PRELOAD);
    server = await ChildInstance.start({ EMBEDDING_PROVIDER: 'local', NODE_OPTIONS: `--require ${preload}` }, 30_000);
  });
  after(() => server.kill());

  it('starts with the local provider without importing TF.js on the main thread', () => {
    assert.ok(server.lines.some((l) => l.includes('"ingestion ready"') && l.includes('local:universal-sentence-encoder-lite:512')), 'the local provider is configured');
    assert.deepEqual(server.lines.filter((l) => l.includes('main thread loaded')), []);
  });
});
