/**
 * `npm run bench:ingest` — ingestion throughput and retrieval latency, in one run:
 *   1. the same generated corpus (Markdown + text, deterministic) ingested end to end
 *      (REST upload → job queue → extract/chunk in the pool → shared embed batcher →
 *      `local` provider (USE lite) in the pool → SQLite) with THREAD_POOL_SIZE=1 and =2,
 *      alternated over rounds; chunks embedded/s and the scaling 2 vs 1;
 *   2. the same chunks embedded by calling the same provider directly in a loop (one
 *      thread, batches of EMBEDDING_BATCH_SIZE): the pipeline's overhead over the model;
 *   3. query latency p50/p99 at 10k and 100k chunks: 512-d random unit vectors written
 *      through the FileStore, queried through the store (thread hop + sqlite-vec KNN) and
 *      through `POST /api/retrieval/query` (the `hash` provider embeds the query text, so
 *      the figure is retrieval, not the model — whose cost part 1 measures).
 * Targets: scaling ≥ 1.7×; overhead ≤ 15 %; store query p99 ≤ 50 ms at 10k and ≤ 250 ms at
 * 100k (exact search is linear in the chunks, and retrieval must stay well under the
 * ~0.5 s a user notices before generation starts). Other processes share this machine:
 * each ingest run prints the CPU the rest of the machine used meanwhile; the per-chunk figures
 * (CPU-ms, overhead) come from the best run of each kind (the least disturbed one), the ratios
 * from adjacent pairs (below).
 * Ingestion runs also report CPU-ms per chunk (main + pool threads), next to wall time.
 *   4. the storage dimension: the same pipeline (THREAD_POOL_SIZE=2) on PostgreSQL
 *      (TEST_DATABASE_URL, a fresh schema per run, dropped after) next to the SQLite run
 *      of the same round, in alternating order; target chunks/s Postgres ≥ 0.9× SQLite.
 *      CPU-ms per chunk for both; on Postgres also the server backends' CPU (the work
 *      SQLite does in our own storage thread), so neither store looks free.
 * Knobs (env): INGEST_BENCH_FILES (12), INGEST_BENCH_ROUNDS (3), INGEST_BENCH_QUERIES (200); `--quick` (3, 1, 30).
 * The ratios (scaling, Postgres vs SQLite) are the median over rounds of each round's pair of
 * ADJACENT runs, not the best run of each kind against the best of the other: this machine's
 * speed drifts within one run (the same THREAD_POOL_SIZE=1 work took 83.8 CPU-ms/chunk in one
 * round and 67.3 in the next, the rest of the machine idle both times), and best-of-each then
 * compares a fast minute with a slow one (1.58 where the two rounds' own pairs gave 1.88 and
 * 1.58). The best-of figure is still written, as `scaling_best_of_each`.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { TokenService } from '../src/auth/tokens.js';
import { loadConfig } from '../src/config/loadConfig.js';
import { localEmbeddings } from '../src/ingest/embed/localModel.js';
import { EMBED_TASK } from '../src/ingest/poolTasks.js';
import { chunkSections } from '../src/ingest/pipeline/chunk.js';
import { extractSections } from '../src/ingest/pipeline/extract.js';
import { detectKind } from '../src/ingest/pipeline/fileKind.js';
import { Runtime } from '../src/runtime.js';
import { type CorpusFile, corpusFile, prng, unitVector, WORDS } from './lib/ingestCorpus.js';
import { backendCpuBetween, ownBackendCpu } from './lib/pgBackends.js';
import { fmt, median, percentile, reportResult } from './lib/results.js';
import { CpuMeter, MachineMeter } from './ws/procStats.js';

/** `--quick`: a validation run (fewer files, one round, fewer queries); its result says quick = 1. */
const QUICK = process.argv.includes('--quick');
const int = (name: string, full: number, quick: number) => Number(process.env[name] ?? (QUICK ? quick : full));
const FILES = int('INGEST_BENCH_FILES', 12, 3);
const ROUNDS = int('INGEST_BENCH_ROUNDS', 3, 1);
const QUERIES = int('INGEST_BENCH_QUERIES', 200, 30);
const SECRET = 'bench-secret-0123456789abcdef';
const CORES = availableParallelism();
// Short chunks keep the model's share of a run (≈25 chunks/s/core at 64 tokens) within minutes.
const CHUNKING = { chunkTokens: 64, chunkOverlapTokens: 8 };
const DIMENSIONS = 512;
const CHUNKS_PER_FILE = 1_000; // query corpus: chunks per replaceChunks call
const DEADLINE_MS = 5 * 60_000;
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The pool size of the storage comparison (the smaller one is dominated by the model alone). */
const STORAGE_THREADS = 2;
type StorageKind = 'sqlite' | 'postgres';

/** The chunks the pipeline will embed: the same extract + chunk steps, in this thread. */
async function chunksOf(files: readonly CorpusFile[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    const sections = await extractSections(f.bytes, detectKind(f.name, f.contentType)!, f.name, { maxFileBytes: 1e9, maxPages: 1e6, maxInflatedBytes: 1e10 });
    for (const c of chunkSections(sections, { chunkTokens: CHUNKING.chunkTokens, overlapTokens: CHUNKING.chunkOverlapTokens })) out.push(c.text);
  }
  return out;
}

/** A log sink that keeps nothing: the bench prints its own lines. */
const devNull = new Writable({ write: (_c, _e, done) => done() });

async function startBenchRuntime(overrides: Record<string, unknown>): Promise<{ runtime: Runtime; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'swy-bench-ingest-'));
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir, jwtSecret: SECRET, log: { level: 'warn', components: {} }, ...overrides });
  const runtime = await Runtime.start(config, { logDestination: devNull });
  if (runtime.gateway?.transport !== 'native') {
    await runtime.stop();
    throw new Error('uWebSockets.js runs on its JS fallback: figures would not describe switchyard (refusing to report)');
  }
  return { runtime, dataDir };
}

async function stopBenchRuntime(r: { runtime: Runtime; dataDir: string }): Promise<void> {
  await r.runtime.stop();
  rmSync(r.dataDir, { recursive: true, force: true });
}

async function http(port: number, token: string, method: string, path: string, body?: Uint8Array | string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...headers },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

interface IngestRun {
  readonly threads: number;
  readonly storage: StorageKind;
  readonly chunks: number;
  readonly seconds: number;
  readonly chunksPerSec: number;
  /** This process's CPU and the rest of the machine's, % of one core, during the run. */
  readonly ownCpuPct: number;
  readonly othersCpuPct: number;
  /** CPU this process (main thread + pool threads) spent per stored chunk, in ms. */
  readonly cpuMsPerChunk: number;
  /** PostgreSQL only: CPU of the server backends serving this run, per chunk, in ms (0 on SQLite). */
  readonly serverCpuMsPerChunk: number;
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** One end-to-end ingestion of the corpus on a fresh runtime (and, on Postgres, a fresh schema) with `threads` pool threads. */
async function ingestRun(threads: number, files: readonly CorpusFile[], token: string, storage: StorageKind = 'sqlite'): Promise<IngestRun> {
  const schema = `swy_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const store = storage === 'postgres' ? { storage, databaseUrl: DATABASE_URL, postgres: { schema } } : {};
  let r: Awaited<ReturnType<typeof startBenchRuntime>>;
  try {
    r = await startBenchRuntime({ threadPoolSize: threads, ingest: { ...CHUNKING, embedding: { provider: 'local' } }, ...store });
  } catch (err) {
    if (storage === 'postgres') await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    throw err;
  }
  try {
    const { runtime } = r;
    const port = runtime.port;
    const upload = (f: CorpusFile) =>
      http(port, token, 'POST', '/api/files?collection=bench', f.bytes, { 'content-type': f.contentType, 'x-filename': f.name }) as Promise<{ id: string }>;
    // Warm-up outside the clock: the model loads once per thread (the first batch of each
    // thread pays ~0.2 s + JIT), and one file primes extraction and chunking.
    await Promise.all(Array.from({ length: threads }, () => runtime.ingest.pool.run(EMBED_TASK, { provider: 'local', texts: ['warm up'] })));
    await waitFinished(runtime, [(await upload(corpusFile(10_000))).id]);

    const serverStart = storage === 'postgres' ? await ownBackendCpu(DATABASE_URL) : new Map<number, number>();
    const own = new CpuMeter([process.pid]);
    const machine = new MachineMeter();
    const t0 = Date.now();
    const ids: string[] = [];
    for (const f of files) ids.push((await upload(f)).id);
    const records = await waitFinished(runtime, ids);
    const end = Math.max(...records.map((f) => f.updatedAt)); // when the last file was marked finished
    const ownCpuPct = own.read().get(process.pid)!;
    const machinePct = machine.read(CORES);
    // Sampled before the runtime stops, while its pool's connections are still open (a
    // connection closed mid-run would take its CPU with it: the pool keeps them 10 s idle).
    const serverCpuS = storage === 'postgres' ? backendCpuBetween(serverStart, await ownBackendCpu(DATABASE_URL)) : 0;
    const chunks = records.reduce((n, f) => n + f.chunks, 0);
    const seconds = (end - t0) / 1000;
    // The server's backends are part of this run's work, not "the rest of the machine".
    const othersCpuPct = Math.max(0, machinePct - ownCpuPct - (serverCpuS / seconds) * 100);
    return {
      threads,
      storage,
      chunks,
      seconds,
      chunksPerSec: chunks / seconds,
      ownCpuPct,
      othersCpuPct,
      cpuMsPerChunk: cpuMsPer(ownCpuPct, seconds, chunks),
      serverCpuMsPerChunk: (serverCpuS * 1000) / chunks,
    };
  } finally {
    await stopBenchRuntime(r);
    if (storage === 'postgres') await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
}

/** % of one core over `seconds` → CPU-ms per chunk: wall time alone hides a pipeline that burns two cores to go fast. */
function cpuMsPer(cpuPct: number, seconds: number, chunks: number): number {
  return ((cpuPct / 100) * seconds * 1000) / chunks;
}

async function waitFinished(runtime: Runtime, ids: readonly string[]) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const records = await Promise.all(ids.map((id) => runtime.storage.files.getFile(id)));
    const bad = records.find((f) => !f || f.status === 'failed' || f.status === 'canceled');
    if (bad !== undefined) throw new Error(`a bench file did not ingest: ${JSON.stringify(bad)}`);
    if (records.every((f) => f!.status === 'finished')) return records.map((f) => f!);
    if (Date.now() > deadline) throw new Error(`ingestion did not finish within ${DEADLINE_MS} ms`);
    // Sparse polling: the end time comes from the records, and polling costs CPU the pool needs.
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The provider called directly in a loop, batches of the configured size, in a fresh
 * worker thread like a pool thread (the bench's main thread carries the heaps of the
 * runtimes it ran, which would slow the model's allocations and flatter the pipeline).
 */
async function directRun(
  chunks: readonly string[],
  batchSize: number,
): Promise<{ seconds: number; chunksPerSec: number; ownCpuPct: number; othersCpuPct: number; cpuMsPerChunk: number }> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { chunks, batchSize } });
  try {
    // Includes the model load: only the process CPU is measured here, and V8's GC helper
    // threads show up in it (the model alone keeps ~1.15 cores busy: TF.js allocates a lot).
    const own = new CpuMeter([process.pid]);
    const machine = new MachineMeter();
    const started = performance.now();
    const [seconds] = (await once(worker, 'message')) as [number];
    const ownCpuPct = own.read().get(process.pid)!;
    // The meter's interval includes the model load; CPU per chunk is over that same interval.
    const meteredSeconds = (performance.now() - started) / 1000;
    return {
      seconds,
      chunksPerSec: chunks.length / seconds,
      ownCpuPct,
      othersCpuPct: Math.max(0, machine.read(CORES) - ownCpuPct),
      cpuMsPerChunk: cpuMsPer(ownCpuPct, meteredSeconds, chunks.length),
    };
  } finally {
    await worker.terminate();
  }
}

/** Worker side of directRun. */
async function directLoop({ chunks, batchSize }: { chunks: string[]; batchSize: number }): Promise<void> {
  await localEmbeddings(['warm up']);
  const t0 = performance.now();
  for (let i = 0; i < chunks.length; i += batchSize) await localEmbeddings(chunks.slice(i, i + batchSize));
  parentPort!.postMessage((performance.now() - t0) / 1000);
}

interface Latency {
  readonly storeP50: number;
  readonly storeP99: number;
  readonly restP50: number;
  readonly restP99: number;
}

/** Query latency at 10k and 100k chunks on one store, grown in place. */
async function queryBench(token: string): Promise<Record<number, Latency>> {
  const r = await startBenchRuntime({ threadPoolSize: 1, ingest: { embedding: { provider: 'hash' } } });
  const out: Record<number, Latency> = {};
  try {
    const { runtime } = r;
    const files = runtime.storage.files;
    const space = runtime.ingest.embeddings.space;
    const rnd = prng(42);
    let stored = 0;
    for (const target of [10_000, 100_000]) {
      const t0 = performance.now();
      while (stored < target) {
        const id = `bench-q-${stored / CHUNKS_PER_FILE}`;
        await files.createFile({ id, ownerId: 'bench', name: `${id}.txt`, contentType: 'text/plain', collection: 'bench', sizeBytes: 0, path: '/dev/null' });
        const chunks = Array.from({ length: CHUNKS_PER_FILE }, (_, index) => ({
          index,
          text: `chunk ${index} of ${id}`,
          metadata: {},
          embedding: unitVector(rnd, DIMENSIONS),
        }));
        await files.replaceChunks(id, chunks, { name: space, dimensions: DIMENSIONS });
        await files.updateFile(id, { status: 'finished', progress: 1, chunks: CHUNKS_PER_FILE });
        stored += CHUNKS_PER_FILE;
      }
      console.log(`  ${target} chunks stored (${((performance.now() - t0) / 1000).toFixed(1)} s to insert)`);
      const store: number[] = [];
      const rest: number[] = [];
      for (let q = 0; q < QUERIES + 20; q++) {
        const embedding = unitVector(rnd, DIMENSIONS);
        let t = performance.now();
        const hits = await files.query({ collection: 'bench', ownerId: 'bench', embedding, k: 5, model: space });
        const storeMs = performance.now() - t;
        t = performance.now();
        const body = JSON.stringify({ collection: 'bench', query: `${WORDS[q % WORDS.length]} query ${q}`, k: 5 });
        const restHits = (await http(runtime.port, token, 'POST', '/api/retrieval/query', body, { 'content-type': 'application/json' })) as unknown[];
        const restMs = performance.now() - t;
        if (hits.length !== 5 || restHits.length !== 5) throw new Error(`a query returned ${hits.length} / ${restHits.length} hits, not 5`);
        if (q >= 20) {
          store.push(storeMs);
          rest.push(restMs);
        }
      }
      store.sort((a, b) => a - b);
      rest.sort((a, b) => a - b);
      out[target] = { storeP50: percentile(store, 50), storeP99: percentile(store, 99), restP50: percentile(rest, 50), restP99: percentile(rest, 99) };
      const l = out[target]!;
      console.log(`  ${target}: store p50 ${fmt(l.storeP50)} ms p99 ${fmt(l.storeP99)} ms; REST p50 ${fmt(l.restP50)} ms p99 ${fmt(l.restP99)} ms`);
    }
  } finally {
    await stopBenchRuntime(r);
  }
  return out;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const token = await new TokenService(SECRET).sign({ sub: 'bench', role: 'user' });
  const files = Array.from({ length: FILES }, (_, i) => corpusFile(i));
  const chunks = await chunksOf(files);
  const batchSize = loadConfig({}).ingest.embedding.batchSize;
  console.log(
    `bench:ingest — ${FILES} files, ${chunks.length} chunks of ≤ ${CHUNKING.chunkTokens} tokens, provider local (USE lite), ` +
      `batch ${batchSize}, ${ROUNDS} rounds per pool size, ${CORES} cores, load avg ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );

  await sql('SELECT 1').catch((err: Error) => {
    throw new Error(`bench:ingest measures PostgreSQL too and none answers at TEST_DATABASE_URL (${DATABASE_URL.replace(/\/\/[^@]*@/, '//')}): ${err.message}`);
  });
  const runs: IngestRun[] = [];
  /** The runs of each round, in the order they ran (the pairs of a ratio are taken within one). */
  const rounds: IngestRun[][] = [];
  let direct = { seconds: Infinity, chunksPerSec: 0, ownCpuPct: 0, othersCpuPct: 0, cpuMsPerChunk: NaN };
  for (let round = 0; round < ROUNDS; round++) {
    const inRound: IngestRun[] = [];
    rounds.push(inRound);
    // Alternated, so a burst of outside load hits both sizes (and both stores) alike rather than one of them.
    const plan: Array<[number, StorageKind]> = [
      [1, 'sqlite'],
      [STORAGE_THREADS, 'sqlite'],
      [STORAGE_THREADS, 'postgres'],
    ];
    for (const [threads, storage] of round % 2 === 0 ? plan : plan.reverse()) {
      const run = await ingestRun(threads, files, token, storage);
      if (run.chunks !== chunks.length) throw new Error(`the pipeline stored ${run.chunks} chunks on ${storage}, the direct chunking made ${chunks.length}`);
      runs.push(run);
      inRound.push(run);
      const server = storage === 'postgres' ? ` + ${fmt(run.serverCpuMsPerChunk)} in the server's backends` : '';
      console.log(
        `  round ${round + 1}, THREAD_POOL_SIZE=${threads}, ${storage}: ${run.chunks} chunks in ${run.seconds.toFixed(2)} s = ${fmt(run.chunksPerSec)} chunks/s, ` +
          `${fmt(run.cpuMsPerChunk)} CPU-ms/chunk${server} (this process ${fmt(run.ownCpuPct)} % CPU, rest of the machine ${fmt(run.othersCpuPct)} %)`,
      );
    }
    const d = await directRun(chunks, batchSize);
    console.log(
      `  round ${round + 1}, direct loop: ${chunks.length} chunks in ${d.seconds.toFixed(2)} s = ${fmt(d.chunksPerSec)} chunks/s, ` +
        `${fmt(d.cpuMsPerChunk)} CPU-ms/chunk incl. model load (this process ${fmt(d.ownCpuPct)} % CPU, rest of the machine ${fmt(d.othersCpuPct)} %)`,
    );
    if (d.seconds < direct.seconds) direct = d;
  }
  const best = (threads: number, storage: StorageKind = 'sqlite') =>
    runs.filter((r) => r.threads === threads && r.storage === storage).reduce((a, b) => (b.chunksPerSec > a.chunksPerSec ? b : a));
  /** Per round, `a`'s rate over `b`'s (the two ran next to each other); their median over the rounds. */
  const pairedRatio = (what: string, a: (r: IngestRun) => boolean, b: (r: IngestRun) => boolean): number => {
    const ratios = rounds.map((inRound) => inRound.find(a)!.chunksPerSec / inRound.find(b)!.chunksPerSec);
    console.log(`  ${what} per round: ${ratios.map((x) => x.toFixed(3)).join(', ')} (median ${median(ratios).toFixed(3)})`);
    return median(ratios);
  };
  const isPool = (threads: number, storage: StorageKind) => (r: IngestRun) => r.threads === threads && r.storage === storage;
  const scaling = pairedRatio('scaling (2 threads / 1, SQLite)', isPool(2, 'sqlite'), isPool(1, 'sqlite'));
  const postgresVsSqlite = pairedRatio(`Postgres / SQLite (${STORAGE_THREADS} threads)`, isPool(STORAGE_THREADS, 'postgres'), isPool(STORAGE_THREADS, 'sqlite'));
  const one = best(1);
  const two = best(2);
  const sqlite = best(STORAGE_THREADS);
  const postgres = best(STORAGE_THREADS, 'postgres');
  const disturbed = [one, two, postgres, direct].filter((r) => r.othersCpuPct > 25).length;
  if (disturbed > 0) console.log(`  !! ${disturbed} of the kept runs shared the machine with > 25 % CPU of other work: the ratios are less certain`);

  console.log('query latency (512-d, k = 5, one user, one collection):');
  const own = new CpuMeter([process.pid]);
  const machine = new MachineMeter();
  const latency = await queryBench(token);
  const othersCpuPctQueries = Math.max(0, machine.read(CORES) - own.read().get(process.pid)!);
  console.log(`  (rest of the machine used ${fmt(othersCpuPctQueries)} % CPU meanwhile)`);

  const metrics = {
    quick: QUICK ? 1 : 0,
    chunks: chunks.length,
    chunksPerSecPool1: one.chunksPerSec,
    chunksPerSecPool2: two.chunksPerSec,
    scaling,
    scaling_best_of_each: two.chunksPerSec / one.chunksPerSec,
    chunksPerSecDirect: direct.chunksPerSec,
    cpuMsPerChunkPool1: one.cpuMsPerChunk,
    cpuMsPerChunkPool2: two.cpuMsPerChunk,
    cpuMsPerChunkDirect: direct.cpuMsPerChunk,
    overhead: one.seconds / direct.seconds - 1,
    postgres_vs_sqlite_chunks_per_sec: postgresVsSqlite,
    chunksPerSecSqlite: sqlite.chunksPerSec,
    chunksPerSecPostgres: postgres.chunksPerSec,
    cpuMsPerChunkSqlite: sqlite.cpuMsPerChunk,
    cpuMsPerChunkPostgres: postgres.cpuMsPerChunk,
    serverCpuMsPerChunkPostgres: postgres.serverCpuMsPerChunk,
    cpuMsPerChunkPostgresTotal: postgres.cpuMsPerChunk + postgres.serverCpuMsPerChunk,
    othersCpuPctPostgres: postgres.othersCpuPct,
    othersCpuPctPool1: one.othersCpuPct,
    othersCpuPctPool2: two.othersCpuPct,
    othersCpuPctDirect: direct.othersCpuPct,
    processCpuPctDirect: direct.ownCpuPct,
    othersCpuPctQueries,
    storeQueryP50Ms10k: latency[10_000]!.storeP50,
    storeQueryP99Ms10k: latency[10_000]!.storeP99,
    storeQueryP50Ms100k: latency[100_000]!.storeP50,
    storeQueryP99Ms100k: latency[100_000]!.storeP99,
    restQueryP50Ms10k: latency[10_000]!.restP50,
    restQueryP99Ms10k: latency[10_000]!.restP99,
    restQueryP50Ms100k: latency[100_000]!.restP50,
    restQueryP99Ms100k: latency[100_000]!.restP99,
    benchSeconds: (Date.now() - startedAt) / 1000,
  };
  reportResult('ingest', metrics, {
    scaling: { min: 1.7 },
    overhead: { max: 0.15 },
    postgres_vs_sqlite_chunks_per_sec: { min: 0.9 },
    storeQueryP99Ms10k: { max: 50 },
    storeQueryP99Ms100k: { max: 250 },
  });
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
} else {
  void directLoop(workerData as { chunks: string[]; batchSize: number });
}
