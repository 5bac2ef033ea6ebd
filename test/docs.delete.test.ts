import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc, docToken, getDoc } from './helpers/docs.js';
import { waitFor } from './helpers/wait.js';

async function del(t: TestRuntime, id: string, sub: string | null): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = sub ? { authorization: `Bearer ${await docToken(sub)}` } : {};
  const res = await fetch(`http://127.0.0.1:${t.runtime.port}/api/docs/${encodeURIComponent(id)}`, { method: 'DELETE', headers });
  return { status: res.status, json: await res.json() };
}

/** `DELETE /api/docs/<id>`: the owner only; everything of the document goes, nothing of anyone else's. */
describe('documents: delete', () => {
  let t: TestRuntime;
  before(async () => {
    t = await startRuntime({ docs: { unloadGraceMs: 300, persistDebounceMs: 20, persistMaxWaitMs: 100 } });
  });
  after(() => t.runtime.stop());

  it('writers, strangers and anonymous callers cannot delete; the owner can, and every trace goes', async () => {
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'del:1', access: { write: ['bob'] } })).status, 201);
    assert.equal((await createDoc(t.runtime, 'bob', { id: 'bobs' })).status, 201);
    const owner = await Client.open(t.runtime.port, 'del:1', 'alice');
    const bobs = await Client.open(t.runtime.port, 'bobs', 'bob');
    try {
      owner.text.insert(0, 'to be deleted');
      bobs.text.insert(0, 'bob keeps this');
      await waitFor(async () => (await t.runtime.storage.documents.loadState('del:1')) !== null, { what: 'saved once' });

      const writer = await del(t, 'del:1', 'bob');
      assert.equal(writer.status, 403);
      assert.equal(writer.json.error.code, 'SWY_FORBIDDEN');
      assert.equal((await del(t, 'del:1', 'eve')).status, 403);
      assert.equal((await del(t, 'del:1', null)).status, 401);
      assert.equal((await del(t, 'nope', 'alice')).status, 404);
      assert.equal((await (await getDoc(t.runtime, 'alice'))('del:1')).json.text.body, 'to be deleted', 'refused deletes changed nothing');

      assert.deepEqual((await del(t, 'del:1', 'alice')).json, { id: 'del:1', deleted: true });
      await waitFor(() => owner.closes.some((c) => c.code === 4404), { what: 'the open socket told NOT_FOUND' });
      assert.equal((await (await getDoc(t.runtime, 'alice'))('del:1')).status, 404);
      assert.equal(await t.runtime.storage.documents.loadState('del:1'), null);
      assert.deepEqual((await t.runtime.coordination.docLog.backlog('del:1')).entries, []);
      // A document later created with the same id starts empty.
      assert.equal((await createDoc(t.runtime, 'carol', { id: 'del:1' })).status, 201);
      const fresh = await (await getDoc(t.runtime, 'carol'))('del:1');
      assert.equal(fresh.json.text.body ?? '', '');
      // Bob's own document is untouched.
      assert.equal((await (await getDoc(t.runtime, 'bob'))('bobs')).json.text.body, 'bob keeps this');
      assert.equal(bobs.provider.wsconnected, true);
    } finally {
      owner.destroy();
      bobs.destroy();
    }
  });
});
