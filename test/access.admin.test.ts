import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { corpusFile, sentenceFor } from './helpers/files.js';
import { Client, createDoc, docToken } from './helpers/docs.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';
import { IngestClient } from './ingest.helpers.js';

/** The /doc close a socket gets right after the upgrade (or null if it stays open for `ms`). */
function docSocketClose(port: number, docId: string, token: string, ms = 2_000): Promise<number | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/doc/${docId}?token=${token}`);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(null);
    }, ms);
    ws.on('message', () => {});
    ws.on('error', () => {});
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** An admin may read and remove anyone's files and documents; a plain user gets a coded refusal and changes nothing. */
describe('admin access to other users’ files and documents', () => {
  let t: TestRuntime;
  let alice: IngestClient;
  let bob: IngestClient;
  let admin: IngestClient;
  let fileId: string;
  const clients: Client[] = [];

  before(async () => {
    t = await startRuntime({ ingest: { embedding: { provider: 'hash' } } });
    [alice, bob, admin] = await Promise.all([IngestClient.of(t.runtime, 'alice'), IngestClient.of(t.runtime, 'bob'), IngestClient.of(t.runtime, 'root', 'admin')]);
    const res = await alice.upload(await corpusFile(5), 'private');
    assert.equal(res.status, 202);
    fileId = res.body.id;
    assert.equal((await alice.waitStatus(fileId, ['finished', 'failed'])).status, 'finished');
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await t.runtime.stop();
  });

  describe('files', () => {
    it('a plain user cannot see another’s file: 404 SWY_NOT_FOUND (its existence is not revealed)', async () => {
      const res = await bob.file(fileId);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'SWY_NOT_FOUND');
      const missing = await bob.file('no-such-file');
      assert.equal(missing.body.error.code, res.body.error.code, 'the same answer as for a file that does not exist');
    });

    it('a plain user’s query never returns another’s chunks; an admin’s does', async () => {
      const bobHits = (await bob.query('private', sentenceFor(5), 5)).body as Array<{ file_id: string }>;
      assert.ok(bobHits.every((h) => h.file_id !== fileId), 'no chunk of alice’s file for bob');
      const adminHits = (await admin.query('private', sentenceFor(5), 1)).body as Array<{ file_id: string }>;
      assert.equal(adminHits[0]?.file_id, fileId);
    });

    it('an admin can GET another’s file', async () => {
      const res = await admin.file(fileId);
      assert.equal(res.status, 200);
      assert.equal(res.body.id, fileId);
      assert.equal(res.body.status, 'finished');
    });

    it('a plain user cannot delete another’s file (404) and it stays; an admin can', async () => {
      const refused = await bob.request('DELETE', `/api/files/${fileId}`);
      assert.equal(refused.status, 404);
      assert.equal(refused.body.error.code, 'SWY_NOT_FOUND');
      assert.equal((await alice.file(fileId)).status, 200, 'still there for its owner');
      const removed = await admin.request('DELETE', `/api/files/${fileId}`);
      assert.equal(removed.status, 200);
      assert.equal((await alice.file(fileId)).status, 404, 'gone for its owner too');
    });
  });

  describe('documents', () => {
    before(async () => {
      assert.equal((await createDoc(t.runtime, 'alice', { id: 'alice-private' })).status, 201);
      const writer = await Client.open(t.runtime.port, 'alice-private', 'alice');
      clients.push(writer);
      writer.text.insert(0, 'for alice only');
    });

    const getAs = async (sub: string, role: 'user' | 'admin') =>
      fetch(`http://127.0.0.1:${t.runtime.port}/api/docs/alice-private`, { headers: { authorization: `Bearer ${await docToken(sub, role)}` } }).then(async (r) => ({
        status: r.status,
        json: (await r.json()) as any,
      }));

    it('a plain user gets 403 SWY_FORBIDDEN on GET and 4403 on the /doc socket', async () => {
      const res = await getAs('bob', 'user');
      assert.equal(res.status, 403);
      assert.equal(res.json.error.code, 'SWY_FORBIDDEN');
      assert.equal(res.json.text, undefined, 'no content in the refusal');
      assert.equal(await docSocketClose(t.runtime.port, 'alice-private', await docToken('bob')), 4403);
    });

    it('an admin can GET another’s document with its text, and open it on /doc', async () => {
      await waitFor(async () => (await getAs('root', 'admin')).json.text?.body === 'for alice only', { what: 'the admin to read the text' });
      const res = await getAs('root', 'admin');
      assert.equal(res.status, 200);
      assert.equal(res.json.owner, 'alice');
      assert.equal(await docSocketClose(t.runtime.port, 'alice-private', await docToken('root', 'admin'), 1_000), null, 'the admin’s /doc socket stays open');
    });
  });
});
