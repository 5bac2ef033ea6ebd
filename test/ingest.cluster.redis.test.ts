import './helpers/guard.js';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import { chunkSections } from '../src/ingest/pipeline/chunk.js';
import { extractSections } from '../src/ingest/pipeline/extract.js';
import { detectKind } from '../src/ingest/pipeline/fileKind.js';
import { corpusFile, type TestFile } from './helpers/files.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { ChildInstance } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';
import { IngestClient } from './ingest.helpers.js';

const CHUNKING = { chunkTokens: 64, overlapTokens: 8 };
const FILES = 200;

/** What a single clean run produces for a file: the same extract + chunk steps, in this thread. */
async function expectedChunks(file: TestFile): Promise<number> {
  const sections = await extractSections(file.bytes, detectKind(file.name, file.contentType)!, file.name, { maxFileBytes: 1e9, maxPages: 1e6, maxInflatedBytes: 1e10 });
  return chunkSections(sections, CHUNKING).length;
}

async function uploadAll(clients: IngestClient[], files: TestFile[], ids: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < files.length) {
        const i = next++;
        const res = await clients[i % clients.length]!.upload(files[i]!, 'cluster');
        assert.equal(res.status, 202, JSON.stringify(res.body));
        ids[i] = res.body.id;
      }
    }),
  );
}

await describeRedis(
  'ingestion cluster on Redis',
  (server) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'swy-cluster-'));
    const env = {
      REDIS_URL: server.url,
      REDIS_KEY_PREFIX: randomPrefix(),
      DATA_DIR: dataDir,
      // Pinned (CI's Postgres pass too): the assertions read the shared SQLite file directly;
      // storage.twohosts.redis.test.ts runs the same scenario on PostgreSQL.
      STORAGE: 'sqlite',
      EMBEDDING_PROVIDER: 'hash',
      THREAD_POOL_SIZE: '1',
      INGEST_CONCURRENCY: '4',
      CHUNK_SIZE: String(CHUNKING.chunkTokens),
      CHUNK_OVERLAP: String(CHUNKING.overlapTokens),
      JOB_LEASE_MS: '2000',
      INGEST_RECONCILE_INTERVAL_MS: '1000',
      LOG_LEVEL_GATEWAY: 'warn',
    };
    const instances: ChildInstance[] = [];
    const start = async () => {
      const inst = await ChildInstance.start(env, 30_000);
      instances.push(inst);
      return inst;
    };
    after(async () => {
      await Promise.all(instances.map((i) => i.kill()));
    });

    const files: TestFile[] = [];
    const expected: number[] = [];

    /** All finished, chunk counts equal a clean run's, and (file, idx) never repeats in the shared database. */
    async function assertAllFinished(client: IngestClient, ids: string[], from: number, timeoutMs: number): Promise<void> {
      await waitFor(
        async () => {
          for (let i = from; i < ids.length; i++) {
            const { body } = await client.file(ids[i]!);
            if (body.status !== 'finished') return false;
          }
          return true;
        },
        { timeoutMs, intervalMs: 500, what: 'every file finished' },
      );
      const db = new Database(join(dataDir, 'switchyard.db'), { readonly: true, fileMustExist: true });
      try {
        const dup = db.prepare('SELECT file_id, idx, COUNT(*) AS n FROM chunks GROUP BY file_id, idx HAVING n > 1').all();
        assert.deepEqual(dup, [], 'no duplicate chunks');
        const count = db.prepare('SELECT COUNT(*) AS n FROM chunks WHERE file_id = ?');
        for (let i = from; i < ids.length; i++) {
          const rec = (await client.file(ids[i]!)).body;
          assert.equal(rec.chunks, expected[i], `${files[i]!.name}: chunks ${rec.chunks} vs clean run ${expected[i]}`);
          assert.equal((count.get(ids[i]) as { n: number }).n, expected[i], `${files[i]!.name}: stored chunks`);
        }
      } finally {
        db.close();
      }
    }

    it('200 files across two instances, one SIGKILLed mid-run: all finish with a clean run\'s chunk counts', { timeout: 120_000 }, async () => {
      for (let i = 0; i < FILES + 60; i++) {
        files.push(await corpusFile(i, 4));
        expected.push(await expectedChunks(files[i]!));
      }
      const [a, b] = [await start(), await start()];
      const ca = await IngestClient.of(null as never, 'alice', 'user', a.port);
      const cb = await IngestClient.of(null as never, 'alice', 'user', b.port);
      const ids: string[] = [];
      await uploadAll([ca, cb], files.slice(0, FILES), ids);
      const finished = () => {
        const db = new Database(join(dataDir, 'switchyard.db'), { readonly: true, fileMustExist: true });
        try {
          return (db.prepare("SELECT COUNT(*) AS n FROM files WHERE status = 'finished'").get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      await waitFor(() => finished() >= 30, { timeoutMs: 60_000, intervalMs: 100, what: '30 files finished' });
      await b.kill(); // SIGKILL: B's running jobs stay locked until their lease expires, then A recovers them
      const atKill = finished();
      assert.ok(atKill < FILES, `the kill happened mid-run (${atKill} of ${FILES} finished)`);
      await assertAllFinished(ca, ids, 0, 100_000);
    });

    it('Redis killed and restarted mid-run: every file still finishes', { timeout: 90_000 }, async () => {
      const a = instances[0]!;
      const ca = await IngestClient.of(null as never, 'alice', 'user', a.port);
      const ids: string[] = [];
      const batch = files.slice(FILES);
      for (let i = 0; i < batch.length; i++) {
        const res = await ca.upload(batch[i]!, 'cluster');
        assert.equal(res.status, 202);
        ids[i] = res.body.id;
        if (i === 20) {
          await server.restart(); // empty Redis: every queued job is gone; the file records are not
        }
      }
      await waitFor(
        async () => {
          for (const id of ids) if ((await ca.file(id)).body.status !== 'finished') return false;
          return true;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'all finished after the Redis restart' },
      );
      for (let i = 0; i < ids.length; i++) assert.equal((await ca.file(ids[i]!)).body.chunks, expected[FILES + i]);
    });
  },
  { needsControl: true },
);
