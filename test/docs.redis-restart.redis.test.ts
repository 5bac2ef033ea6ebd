import './helpers/guard.js';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, createDoc, getDoc } from './helpers/docs.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { sleep, waitFor } from './helpers/wait.js';

/** Reconnects, resubscription and the stream replay take a few seconds on a loaded 2-core machine. */
const CONVERGE_MS = 30_000;

/**
 * Redis is SIGKILLed and restarted (empty: no persistence) while a document is edited on two
 * instances. Edits made before, during and after the outage must end up on both instances,
 * in every client and in what the server answers for the document.
 */
await describeRedis(
  'documents: Redis killed and restarted during edits on two instances',
  (server) => {
    describe('two instances, one document', () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'swy-docs-outage-'));
      const overrides = { coordination: 'redis', redisUrl: server.url, redisKeyPrefix: randomPrefix(), dataDir, docs: { unloadGraceMs: 60_000 } };
      const runtimes: TestRuntime[] = [];
      const clients: Client[] = [];
      after(async () => {
        for (const c of clients) c.destroy();
        for (const t of runtimes) await t.runtime.stop();
      });

      it('both instances converge on every edit', async () => {
        const a = await startRuntime(overrides);
        const b = await startRuntime(overrides);
        runtimes.push(a, b);
        assert.equal((await createDoc(a.runtime, 'alice', { id: 'outage', access: { write: ['*'] } })).status, 201);
        const ca = await Client.open(a.runtime.port, 'outage', 'alice');
        const cb = await Client.open(b.runtime.port, 'outage', 'bob');
        clients.push(ca, cb);

        ca.text.insert(0, 'A0 ');
        cb.text.insert(0, 'B0 ');
        await waitFor(() => ca.text.toString() === cb.text.toString() && ca.text.length === 6, { what: 'convergence before the outage', timeoutMs: CONVERGE_MS });

        await server.kill();
        ca.text.insert(ca.text.length, 'A1 ');
        cb.text.insert(cb.text.length, 'B1 ');
        await sleep(300); // the edits reach their own instance while Redis is down
        await server.restart();
        ca.text.insert(ca.text.length, 'A2 ');
        cb.text.insert(cb.text.length, 'B2 ');

        const tokens = ['A0', 'B0', 'A1', 'B1', 'A2', 'B2'];
        const hasAll = (text: string) => tokens.every((tok) => text.includes(tok));
        await waitFor(() => ca.text.toString() === cb.text.toString() && hasAll(ca.text.toString()), {
          what: 'both clients to hold all six edits',
          timeoutMs: CONVERGE_MS,
          intervalMs: 100,
        });
        const expected = ca.text.toString();
        // Each instance's own view (its live document) agrees, and so does a fresh client on each.
        const [readA, readB] = [await getDoc(a.runtime, 'alice'), await getDoc(b.runtime, 'alice')];
        await waitFor(async () => (await readA('outage')).json.text?.body === expected && (await readB('outage')).json.text?.body === expected, {
          what: 'both instances to answer the converged text',
          timeoutMs: CONVERGE_MS,
        });
        for (const rt of [a, b]) {
          const fresh = await Client.open(rt.runtime.port, 'outage', 'carol');
          clients.push(fresh);
          await waitFor(() => fresh.text.toString() === expected, { what: `a fresh client on ${rt.runtime.instanceId}`, timeoutMs: CONVERGE_MS });
        }
      });
    });
  },
  { needsControl: true },
);
