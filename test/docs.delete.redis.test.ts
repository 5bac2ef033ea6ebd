import './helpers/guard.js';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc, docToken, getDoc } from './helpers/docs.js';
import { waitFor } from './helpers/wait.js';

/** A delete on one instance reaches the document's sockets and log on every instance. */
await describeRedis('documents: delete across two instances', (server) => {
  describe('two instances on one Redis and one DATA_DIR', () => {
    const runtimes: TestRuntime[] = [];
    const clients: Client[] = [];
    after(async () => {
      for (const c of clients) c.destroy();
      for (const t of runtimes) await t.runtime.stop();
    });

    it('the owner deletes on instance A; the socket on instance B is closed 4404 and nothing is left in Redis', async () => {
      const overrides = { coordination: 'redis', redisUrl: server.url, redisKeyPrefix: randomPrefix(), dataDir: mkdtempSync(join(tmpdir(), 'swy-del-')) };
      const [a, b] = [await startRuntime(overrides), await startRuntime(overrides)];
      runtimes.push(a, b);
      assert.equal((await createDoc(a.runtime, 'alice', { id: 'shared:del', access: { write: ['*'] } })).status, 201);
      const onB = await Client.open(b.runtime.port, 'shared:del', 'bob');
      clients.push(onB);
      onB.text.insert(0, 'typed on B');
      await waitFor(async () => (await (await getDoc(a.runtime, 'alice'))('shared:del')).json.text?.body === 'typed on B', { what: 'A sees B\'s edit' });
      const refused = await fetch(`http://127.0.0.1:${b.runtime.port}/api/docs/shared:del`, { method: 'DELETE', headers: { authorization: `Bearer ${await docToken('bob')}` } });
      assert.equal(refused.status, 403, 'a writer cannot delete, on any instance');
      const res = await fetch(`http://127.0.0.1:${a.runtime.port}/api/docs/shared:del`, { method: 'DELETE', headers: { authorization: `Bearer ${await docToken('alice')}` } });
      assert.equal(res.status, 200);
      await waitFor(() => onB.closes.some((c) => c.code === 4404), { what: 'B\'s socket told NOT_FOUND', timeoutMs: 8_000 });
      await waitFor(() => !b.runtime.actors.has('doc', 'shared:del'), { what: 'B unloaded the document', timeoutMs: 8_000 });
      assert.equal((await (await getDoc(b.runtime, 'alice'))('shared:del')).status, 404);
      assert.deepEqual((await b.runtime.coordination.docLog.backlog('shared:del')).entries, []);
      assert.equal(await b.runtime.coordination.docLog.savedUpTo('shared:del'), null);
    });
  });
});
