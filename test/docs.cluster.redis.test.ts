import './helpers/guard.js';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { openTestStorage } from './helpers/testStorage.js';
import { Client, createDoc, getDoc } from './helpers/docs.js';
import { waitFor } from './helpers/wait.js';

/** Two instances on one Redis and one DATA_DIR: replication through the streams, persistence across restarts. */
await describeRedis('documents: two instances on one Redis', (server) => {
  // A nested suite: its after() stops the instances before describeRedis stops the server.
  describe('replication and persistence', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'swy-docs-cluster-'));
    const prefix = randomPrefix();
    const overrides = { coordination: 'redis', redisUrl: server.url, redisKeyPrefix: prefix, dataDir, docs: { unloadGraceMs: 300 } };
    const runtimes: TestRuntime[] = [];
    const clients: Client[] = [];
    const start = async () => {
      const t = await startRuntime(overrides);
      runtimes.push(t);
      return t;
    };
    const open = async (...args: Parameters<typeof Client.open>) => {
      const c = await Client.open(...args);
      clients.push(c);
      return c;
    };
    after(async () => {
      for (const c of clients) c.destroy();
      for (const t of runtimes) await t.runtime.stop();
    });

    it('clients on two instances edit concurrently and converge; awareness crosses instances', async () => {
      const [a, b] = [await start(), await start()];
      assert.equal((await createDoc(a.runtime, 'alice', { id: 'shared', access: { write: ['*'] } })).status, 201);
      const ca = await open(a.runtime.port, 'shared', 'alice');
      const cb = await open(b.runtime.port, 'shared', 'bob');
      for (let i = 0; i < 20; i++) {
        ca.text.insert(0, 'a');
        cb.text.insert(cb.text.length, 'b');
      }
      await waitFor(() => ca.text.toString() === cb.text.toString() && ca.text.length === 40, { what: 'cross-instance convergence', timeoutMs: 8_000 });
      cb.provider.awareness.setLocalStateField('user', { name: 'bob' });
      await waitFor(() => ca.provider.awareness.getStates().get(cb.doc.clientID)?.user?.name === 'bob', { what: 'awareness across instances' });
      const late = await open(b.runtime.port, 'shared', 'carol');
      await waitFor(() => late.text.toString() === ca.text.toString(), { what: 'late joiner' });
    });

    it('after every instance restarted, a new client gets the persisted state', async () => {
      const expected = clients[0]!.text.toString();
      assert.equal(expected.length, 40);
      for (const c of clients.splice(0)) c.destroy();
      for (const t of runtimes.splice(0)) await t.runtime.stop();
      // Durable in the store itself (SQLite, or PostgreSQL in CI's second pass), not only replayable from the Redis stream.
      const storage = await openTestStorage(dataDir);
      const stored = await storage.documents.loadState('shared');
      await storage.close();
      const check = new Y.Doc();
      Y.applyUpdate(check, stored!);
      assert.equal(check.getText('body').toString(), expected);
      check.destroy();
      const [a, b] = [await start(), await start()];
      const fresh = await open(b.runtime.port, 'shared', 'dave');
      await waitFor(() => fresh.text.toString() === expected, { what: 'persisted state after restart', timeoutMs: 8_000 });
      const res = await (await getDoc(a.runtime, 'alice'))('shared');
      assert.equal(res.json.text.body, expected);
    });
  });
});
