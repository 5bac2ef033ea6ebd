import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as Y from 'yjs';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc } from './helpers/docs.js';
import { waitFor } from './helpers/wait.js';

/** Document ids may contain ":"; no two ids may meet in a Redis key (issue 13 item 3). */
await describeRedis('documents: ids with ":" never share Redis keys', (server) => {
  describe('v1 and v1:fence', () => {
    const clients: Client[] = [];
    let t: TestRuntime | null = null;
    after(async () => {
      for (const c of clients) c.destroy();
      await t?.runtime.stop();
    });

    const storedText = async (id: string): Promise<string | null> => {
      const state = await t!.runtime.storage.documents.loadState(id);
      if (!state) return null;
      const doc = new Y.Doc();
      Y.applyUpdate(doc, state);
      const text = doc.getText('body').toString();
      doc.destroy();
      return text;
    };

    it('editing v1:fence (whose lock name was v1\'s fence key) does not keep v1 from being saved: both are saved', async () => {
      t = await startRuntime({ coordination: 'redis', redisUrl: server.url, redisKeyPrefix: randomPrefix(), docs: { persistDebounceMs: 50, persistMaxWaitMs: 200 } });
      for (const id of ['v1:fence', 'v1']) assert.equal((await createDoc(t.runtime, 'alice', { id })).status, 201);
      // v1:fence first, so its writer lease is held while v1 takes its own.
      const fence = await Client.open(t.runtime.port, 'v1:fence', 'alice');
      clients.push(fence);
      fence.text.insert(0, 'fence text');
      await waitFor(async () => (await storedText('v1:fence')) === 'fence text', { what: 'v1:fence saved', timeoutMs: 8_000 });
      const v1 = await Client.open(t.runtime.port, 'v1', 'alice');
      clients.push(v1);
      v1.text.insert(0, 'v1 text');
      await waitFor(async () => (await storedText('v1')) === 'v1 text', { what: 'v1 saved while v1:fence holds its lease', timeoutMs: 8_000 });
      fence.text.insert(fence.text.length, ' again');
      await waitFor(async () => (await storedText('v1:fence')) === 'fence text again', { what: 'v1:fence saved again', timeoutMs: 8_000 });
      const failed = t.logs.parsed().filter((l) => /writer lease unavailable|save failed/.test(String(l.msg)));
      assert.deepEqual(failed, [], 'no save or lease error on either document');
    });
  });
});
