import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { DocCloseCodes } from '../src/docs/protocol.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc, docToken } from './helpers/docs.js';
import { sleep, waitFor } from './helpers/wait.js';

/**
 * The document mailbox is bounded by bytes: while the actor waits on a stalled Redis
 * (SIGSTOP), frames pile up in it; past docs.mailboxMaxBytes the sender is closed 4429.
 */
await describeRedis('documents: the mailbox is bounded by bytes', (server) => {
  describe('a stalled backend, a flooding writer', () => {
    let t: TestRuntime | null = null;
    const clients: Client[] = [];
    after(async () => {
      if (server.pid) process.kill(server.pid, 'SIGCONT');
      for (const c of clients) c.destroy();
      await t?.runtime.stop();
    });

    it('frames queued past docs.mailboxMaxBytes close their sender (4429); the document survives', async () => {
      t = await startRuntime({
        coordination: 'redis',
        redisUrl: server.url,
        redisKeyPrefix: randomPrefix(),
        docs: { mailboxMaxBytes: 1_048_576, persistDebounceMs: 20, persistMaxWaitMs: 100 },
      });
      assert.equal((await createDoc(t.runtime, 'alice', { id: 'mb', access: { write: ['mallory'] } })).status, 201);
      const owner = await Client.open(t.runtime.port, 'mb', 'alice');
      clients.push(owner);
      owner.text.insert(0, 'kept');
      await sleep(300); // saved once; the writer lease is held
      const ws = new WebSocket(`ws://127.0.0.1:${t.runtime.port}/doc/mb?token=${await docToken('mallory')}`);
      await new Promise((resolve) => ws.once('message', resolve)); // admitted: the server's sync step 1
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      // Redis stalls: the next persist turn waits on the lease renew, so frames queue behind it.
      process.kill(server.pid!, 'SIGSTOP');
      owner.text.insert(4, '!');
      await sleep(200);
      const junk = new Uint8Array(400_000).fill(7);
      junk[0] = 0; // sync
      junk[1] = 2; // update
      for (let i = 0; i < 4; i++) ws.send(junk); // 1.6 MB > 1 MiB
      assert.equal(await closed, DocCloseCodes.OVERLOADED.code);
      process.kill(server.pid!, 'SIGCONT');
      await waitFor(() => owner.provider.wsconnected && owner.text.toString() === 'kept!', { what: 'the owner\'s document intact' });
      const check = await Client.open(t.runtime.port, 'mb', 'alice');
      clients.push(check);
      await waitFor(() => check.text.toString() === 'kept!', { what: 'a new client sees the document', timeoutMs: 8_000 });
    });
  });
}, { needsControl: true });
