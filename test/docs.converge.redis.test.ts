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
const EDITS = 40; // per client, ~0.6 s of editing
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

    /** Kills ONE instance's reader: the other keeps reading, saving and trimming meanwhile. */
    const killAReader = async (): Promise<number> => {
      const line = ((await raw.client('LIST')) as string).split('\n').find((l) => l.includes(`name=${prefix}:docs-reader`));
      if (!line) return 0;
      await raw.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
      return 1;
    };
    const edit = async (c: Client, tag: string) => {
      for (let i = 0; i < EDITS; i++) {
        c.text.insert(Math.floor(Math.random() * (c.text.length + 1)), tag);
        await sleep(5 + Math.random() * 25);
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
      const join = async (port: number, d: number, who: string) => {
        const c = await Client.open(port, ids[d]!, who);
        clients.push(c);
        sides[d]!.push(c);
        return c;
      };
      let tag = 0;
      const editing: Array<Promise<void>> = [];
      const late = DOCS / 2;
      for (let d = 0; d < DOCS; d++) {
        for (let k = 0; k < CLIENTS_PER_SIDE; k++) await join(a.runtime.port, d, `a${k}`);
        if (d < late) for (let k = 0; k < CLIENTS_PER_SIDE; k++) await join(b.runtime.port, d, `b${k}`);
      }
      for (const cs of sides) for (const c of cs) editing.push(edit(c, String.fromCharCode(0x4e00 + tag++)));
      // Everyone edits; B loads the other half while A saves and trims them, and one reader is dropped again and again.
      const loading = (async () => {
        for (let d = late; d < DOCS; d++) {
          for (let k = 0; k < CLIENTS_PER_SIDE; k++) editing.push(edit(await join(b.runtime.port, d, `b${k}`), String.fromCharCode(0x4e00 + tag++)));
        }
      })();
      let kills = 0;
      for (let round = 0; round < 8; round++) {
        await sleep(50);
        kills += await killAReader();
      }
      await loading;
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
