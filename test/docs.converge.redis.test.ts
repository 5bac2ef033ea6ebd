import './helpers/guard.js';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { keySafe } from '../src/coordination/keySafe.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc } from './helpers/docs.js';
import { sleep, waitFor } from './helpers/wait.js';

const DOCS = 8;
const EDITS = 30; // per client
const CLIENTS_PER_SIDE = 2;

/**
 * Replicas must converge under the conditions that once left one of 20 bench documents
 * behind: two instances editing the same documents, saves that trim the log after
 * almost every change, one instance loading documents while the other saves and
 * trims, and the blocking reader's connection killed mid-run (ioredis then re-sends
 * the blocked XREAD without an error).
 */
await describeRedis('documents: replicas converge under trimming saves and reader drops', (server) => {
  describe('two instances, many documents', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'swy-docs-converge-'));
    const prefix = randomPrefix();
    const overrides = {
      coordination: 'redis',
      redisUrl: server.url,
      redisKeyPrefix: prefix,
      dataDir,
      docs: { persistDebounceMs: 5, persistMaxWaitMs: 20 },
    };
    const runtimes: TestRuntime[] = [];
    const clients: Client[] = [];
    const raw = new Redis(server.url);
    after(async () => {
      for (const c of clients) c.destroy();
      for (const t of runtimes) await t.runtime.stop();
      raw.disconnect();
    });

    const killReaders = async (): Promise<number> => {
      const lines = ((await raw.client('LIST')) as string).split('\n').filter((l) => l.includes(`name=${prefix}:docs-reader`));
      for (const line of lines) await raw.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
      return lines.length;
    };
    const edit = async (c: Client, tag: string) => {
      for (let i = 0; i < EDITS; i++) {
        c.text.insert(Math.floor(Math.random() * (c.text.length + 1)), tag);
        await sleep(2 + Math.random() * 8);
      }
    };

    it('every replica of every document ends with every edit', async () => {
      const a = await startRuntime(overrides);
      runtimes.push(a);
      const b = await startRuntime(overrides);
      runtimes.push(b);
      const ids = Array.from({ length: DOCS }, (_, i) => `conv-${i}`);
      for (const id of ids) assert.equal((await createDoc(a.runtime, 'alice', { id, access: { write: ['*'] } })).status, 201);
      const sides: Client[][] = ids.map(() => []);
      for (const [d, id] of ids.entries()) {
        for (let k = 0; k < CLIENTS_PER_SIDE; k++) sides[d]!.push(await Client.open(a.runtime.port, id, `a${k}`));
      }
      clients.push(...sides.flat());
      // A's clients start editing (A saves and trims); B loads the documents meanwhile.
      const editing: Array<Promise<void>> = sides.flatMap((cs, d) => cs.map((c, k) => edit(c, String.fromCharCode(65 + d * 4 + k))));
      for (const [d, id] of ids.entries()) {
        for (let k = 0; k < CLIENTS_PER_SIDE; k++) {
          const c = await Client.open(b.runtime.port, id, `b${k}`);
          clients.push(c);
          sides[d]!.push(c);
          editing.push(edit(c, String.fromCharCode(97 + d * 4 + k)));
        }
      }
      let kills = 0;
      for (let round = 0; round < 3; round++) {
        await sleep(60);
        kills += await killReaders();
      }
      await Promise.all(editing);
      assert.ok(kills >= 2, 'the readers were dropped while edits ran');
      const expected = DOCS * CLIENTS_PER_SIDE * 2 * EDITS;
      // Bounded wait: 15 s is far beyond a healthy convergence (well under 1 s here).
      await waitFor(
        () => sides.every((cs) => cs.every((c) => c.text.length === 4 * EDITS && c.text.toString() === cs[0]!.text.toString())),
        { what: 'every replica converged with every edit', timeoutMs: 15_000 },
      ).catch((err: unknown) => {
        const report = sides.map((cs, d) => `${ids[d]}: ${cs.map((c) => c.text.length).join('/')}`).join('; ');
        throw new Error(`${(err as Error).message} — lengths (want ${4 * EDITS}): ${report}`);
      });
      assert.equal(sides.reduce((n, cs) => n + cs[0]!.text.length, 0), expected);
      // The saves really trimmed: no stream still holds every append of its document.
      const lengths = await Promise.all(ids.map((id) => raw.xlen(`${prefix}:doc:${keySafe(id)}:log`)));
      assert.ok(lengths.every((n) => n < 4 * EDITS), `stream lengths ${lengths.join(',')}`);
    });
  });
});
