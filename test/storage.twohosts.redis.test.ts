import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { chunkSections } from '../src/ingest/pipeline/chunk.js';
import { extractSections } from '../src/ingest/pipeline/extract.js';
import { detectKind } from '../src/ingest/pipeline/fileKind.js';
import { Client, createDoc, getDoc } from './helpers/docs.js';
import { corpusFile, type TestFile } from './helpers/files.js';
import { hostNetwork, type HostNetwork } from './helpers/hostNetwork.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { ChildInstance } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';
import { IngestClient } from './ingest.helpers.js';
import { describePostgres, dropSchema, freshSchema, postgresProblem, TEST_DATABASE_URL } from './storage.pgserver.js';

const CHUNKING = { chunkTokens: 64, overlapTokens: 8 };
const FILES = 100;
const NAME = 'two hosts: separate DATA_DIRs, shared Redis and PostgreSQL';

async function expectedChunks(file: TestFile): Promise<number> {
  const sections = await extractSections(file.bytes, detectKind(file.name, file.contentType)!, file.name, { maxFileBytes: 1e9, maxPages: 1e6, maxInflatedBytes: 1e9 });
  return chunkSections(sections, CHUNKING).length;
}

/** Sum of `switchyard_docs_saves_total{result="ok"}` on one instance. */
async function okSaves(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('switchyard_docs_saves_total') && line.includes('result="ok"')) n += Number(line.split(' ').pop());
  return n;
}

/** Hosts: A (the survivor), B (SIGKILLed and restarted there), C (the third instance, empty DATA_DIR). */
const HOSTS = 3;

/**
 * Issue 15's must-show, as processes: instances that share nothing on disk (each
 * has its own temporary DATA_DIR) and reach Redis and PostgreSQL over TCP. As root
 * with iproute2, each instance runs in its own network namespace and reaches the
 * (loopback-only) Redis and PostgreSQL over a veth link (helpers/hostNetwork.ts);
 * otherwise on loopback. One line says which mode ran.
 */
function twoHosts(server: { url: string }, url: string): void {
  const schema = freshSchema();
  // What every instance shares (a key prefix, a schema) and how fast it works (short leases, small chunks).
  const shared = { REDIS_KEY_PREFIX: randomPrefix(), DATABASE_SCHEMA: schema, DATABASE_POOL_SIZE: '4' };
  const pace = {
    JOB_LEASE_MS: '2000',
    INGEST_RECONCILE_INTERVAL_MS: '1000',
    DOC_PERSIST_DEBOUNCE_MS: '300',
    DOC_PERSIST_MAX_WAIT_MS: '1500',
  };
  const work = { EMBEDDING_PROVIDER: 'hash', THREAD_POOL_SIZE: '1', INGEST_CONCURRENCY: '4', CHUNK_SIZE: `${CHUNKING.chunkTokens}`, CHUNK_OVERLAP: `${CHUNKING.overlapTokens}` };
  const env = { ...shared, ...pace, ...work, LOG_LEVEL_GATEWAY: 'warn' };
  const instances: ChildInstance[] = [];
  const clients: Client[] = [];
  const db = new pg.Client({ connectionString: url, options: `-c search_path=${schema},public` });
  let net: HostNetwork | undefined;
  /** An instance on `host` with a fresh DATA_DIR; `port` is where this test reaches it. */
  const start = async (host: number) => {
    const inst = await ChildInstance.start({ ...env, ...net!.env(host) }, 30_000, { launcher: net!.launcher(host) });
    instances.push(inst);
    return { inst, port: await net!.reach(host, inst.port) };
  };
  before(async () => {
    net = await hostNetwork(HOSTS, { redisUrl: server.url, databaseUrl: url });
    console.log(`two-hosts test: ${net.description}`);
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await Promise.all(instances.map((i) => i.kill()));
    await net?.close();
    await db.end().catch(() => {});
    await dropSchema(schema);
  });
  const ports: number[] = []; // where the test reaches A and the restarted B, for the second test

  it(`${FILES} files round-robin over two instances, one SIGKILLed at 40 % and restarted: every file finished, clean-run chunk counts, no duplicate (file, chunk)`, { timeout: 180_000 }, async () => {
    const files: TestFile[] = [];
    const expected: number[] = [];
    for (let i = 0; i < FILES; i++) {
      files.push(await corpusFile(i, 4));
      expected.push(await expectedChunks(files[i]!));
    }
    const a = await start(0);
    let b = await start(1);
    await db.connect();
    const ca = await IngestClient.of(null as never, 'alice', 'user', a.port);
    let cb = await IngestClient.of(null as never, 'alice', 'user', b.port);
    const finished = async () => Number((await db.query("SELECT count(*) AS n FROM files WHERE status = 'finished'")).rows[0].n);
    const ids: string[] = [];
    let killed = false;
    for (let i = 0; i < FILES; i++) {
      if (!killed && i >= FILES * 0.4) {
        await b.inst.kill(); // SIGKILL: its running jobs stay locked until their lease expires, then are recovered
        killed = true;
        b = await start(1);
        cb = await IngestClient.of(null as never, 'alice', 'user', b.port);
      }
      const res = await (i % 2 === 0 ? ca : cb).upload(files[i]!, 'hosts');
      assert.equal(res.status, 202, JSON.stringify(res.body));
      ids[i] = res.body.id;
    }
    ports.push(a.port, b.port);
    if (net!.mode === 'netns') {
      // Each instance's host has only its link: its own loopback has neither server, and the links carried both.
      const pgPort = Number(new URL(url).port || 5432);
      const redisPort = Number(new URL(server.url).port);
      for (const host of [0, 1]) {
        assert.equal(await net!.loopbackReaches(host, pgPort), false, `host ${host}'s 127.0.0.1:${pgPort} is its own loopback`);
        assert.equal(await net!.loopbackReaches(host, redisPort), false, `host ${host}'s 127.0.0.1:${redisPort} is its own loopback`);
        const links = net!.linkConnections(host);
        assert.ok(links.redis > 0 && links.postgres > 0, `host ${host} reached Redis and PostgreSQL over its link (${JSON.stringify(links)})`);
      }
    }
    await waitFor(async () => (await finished()) >= FILES, { timeoutMs: 150_000, intervalMs: 500, what: 'every file finished' });
    const dup = await db.query('SELECT file_id, idx, count(*) AS n FROM chunks GROUP BY file_id, idx HAVING count(*) > 1');
    assert.deepEqual(dup.rows, [], 'no duplicate (file, chunk)');
    for (let i = 0; i < FILES; i++) {
      const rec = (await ca.file(ids[i]!)).body;
      assert.equal(rec.status, 'finished');
      assert.equal(rec.chunks, expected[i], `${files[i]!.name}: chunks ${rec.chunks} vs a clean run's ${expected[i]}`);
      const stored = Number((await db.query('SELECT count(*) AS n FROM chunks WHERE file_id = $1', [ids[i]])).rows[0].n);
      assert.equal(stored, expected[i], `${files[i]!.name}: stored chunks`);
    }
  });

  it('a document edited through both converges, is saved by one writer (not once per instance), and a third instance with an empty DATA_DIR serves it', { timeout: 60_000 }, async () => {
    assert.equal(ports.length, 2, 'the first test started A and the restarted B');
    const [a, b] = [{ port: ports[0]! }, { port: ports[1]! }]; // the survivor and the restarted one
    assert.equal((await createDoc({ port: a.port } as never, 'alice', { id: 'hosts-doc', access: { write: ['*'] } })).status, 201);
    const [ca, cb] = [await Client.open(a.port, 'hosts-doc', 'alice'), await Client.open(b.port, 'hosts-doc', 'bob')];
    clients.push(ca, cb);
    const savesBefore = [await okSaves(a.port), await okSaves(b.port)];
    for (let i = 0; i < 30; i++) {
      ca.text.insert(0, 'a');
      cb.text.insert(cb.text.length, 'b');
    }
    await waitFor(() => ca.text.toString() === cb.text.toString() && ca.text.length === 60, { what: 'convergence across instances', timeoutMs: 10_000 });
    const want = ca.text.toString();
    await waitFor(async () => (await getDoc(a.port, 'alice'))('hosts-doc').then((r) => r.json.size_bytes > 0), { what: 'a save', timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 2_000)); // quiet: every debounce window closed
    const saves = [(await okSaves(a.port)) - savesBefore[0]!, (await okSaves(b.port)) - savesBefore[1]!];
    assert.equal(saves.filter((n) => n > 0).length, 1, `exactly one instance saved (saves per instance: ${saves})`);
    const c = await start(2); // empty DATA_DIR, its own host
    const res = await (await getDoc(c.port, 'carol'))('hosts-doc');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.text.body, want);
    const cc = await Client.open(c.port, 'hosts-doc', 'carol');
    clients.push(cc);
    await waitFor(() => cc.text.toString() === want, { what: 'the third instance serving the document', timeoutMs: 10_000 });
  });
}

if (await postgresProblem()) {
  await describePostgres(NAME, () => {}); // skips loudly, or fails under SWITCHYARD_REQUIRE_POSTGRES=1
} else {
  await describeRedis(NAME, (server) => describe('instances', () => twoHosts(server, TEST_DATABASE_URL)));
}
