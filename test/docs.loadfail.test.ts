import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { DocCloseCodes } from '../src/docs/protocol.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc, docToken, getDoc } from './helpers/docs.js';
import { waitFor } from './helpers/wait.js';

/** A document whose state does not load answers DOC_LOAD_FAILED (503), never a bare 500. */
describe('documents: a failed load is a coded 503', () => {
  let t: TestRuntime;
  before(async () => {
    t = await startRuntime({ docs: { unloadGraceMs: 5_000 } });
  });
  after(() => t.runtime.stop());

  it('GET answers 503 SWY_DOC_LOAD_FAILED, from storage and from the loaded actor; the socket closes UNAVAILABLE; other documents are fine', async () => {
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'broken' })).status, 201);
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'fine' })).status, 201);
    // An update that cannot apply sits in the log (as a corrupt stream entry would).
    await t.runtime.coordination.docLog.append('broken', 'elsewhere', Uint8Array.from([1, 2, 3]));
    const get = await getDoc(t.runtime, 'alice');

    const cold = await get('broken');
    assert.equal(cold.status, 503);
    assert.equal(cold.json.error.code, 'SWY_DOC_LOAD_FAILED');

    const token = await docToken('alice');
    const ws = new WebSocket(`ws://127.0.0.1:${t.runtime.port}/doc/broken?token=${token}`);
    const closed = await new Promise<number>((resolve, reject) => {
      ws.once('close', (code) => resolve(code));
      ws.once('error', reject);
    });
    assert.equal(closed, DocCloseCodes.UNAVAILABLE.code);
    await waitFor(() => t.runtime.actors.has('doc', 'broken'), { what: 'the failed actor stays for its grace period' });
    const live = await get('broken');
    assert.equal(live.status, 503);
    assert.equal(live.json.error.code, 'SWY_DOC_LOAD_FAILED');

    const c = await Client.open(t.runtime.port, 'fine', 'alice');
    try {
      c.text.insert(0, 'ok');
      await waitFor(async () => (await get('fine')).json.text?.body === 'ok', { what: 'the other document works' });
    } finally {
      c.destroy();
    }
  });
});
