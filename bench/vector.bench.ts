/**
 * Vector-query bench on both stores in one run: query p99 and recall@10 (against
 * the exact scan) at 100,000 chunks on pgvector HNSW and on SQLite (sqlite-vec's
 * brute force, which is exact), then PostgreSQL alone at 1,000,000 chunks.
 *
 * Data: 512-d (the local model's size) unit vectors around 2,000 seeded cluster
 * centres — real embeddings cluster; uniform random vectors in 512-d have no
 * near neighbours and say nothing about an ANN index. Queries are perturbed corpus
 * points, so each has a true neighbourhood. Vectors are regenerated from the seed
 * instead of kept: 1M × 512-d would be 2 GB of Float32Array.
 *
 * Chunks are written through the storage port (replaceChunks, 1,000 per file),
 * with the space's HNSW index dropped during the load and rebuilt afterwards with
 * the adapter's own statement (hnswIndexSql) — the build time is reported. If the
 * large build passes VECTOR_BENCH_BUILD_LIMIT_S (15 min) it is cancelled, reported,
 * and the size halved until one builds within it.
 *
 * Env: VECTOR_BENCH_SIZE (100000), VECTOR_BENCH_LARGE (1000000; 0 = skip),
 * VECTOR_BENCH_QUERIES (200), VECTOR_BENCH_RECALL_QUERIES (100),
 * VECTOR_BENCH_BUILD_LIMIT_S (900), TEST_DATABASE_URL. Short validation runs:
 * VECTOR_BENCH_SIZE=5000 VECTOR_BENCH_LARGE=20000 npm run bench:vector
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { silentLogger } from '../src/observability/logger.js';
import { openPostgresStorage, openSqliteStorage, type ChunkInput, type Storage } from '../src/storage/index.js';
import { HNSW_DEFAULTS, hnswIndexSql } from '../src/storage/postgres/PgVectorIndex.js';
import { fmt, percentile, reportResult } from './lib/results.js';

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SIZE = int('VECTOR_BENCH_SIZE', 100_000);
const LARGE = int('VECTOR_BENCH_LARGE', 1_000_000);
const QUERIES = int('VECTOR_BENCH_QUERIES', 200);
const RECALL_QUERIES = int('VECTOR_BENCH_RECALL_QUERIES', 100);
const BUILD_LIMIT_S = int('VECTOR_BENCH_BUILD_LIMIT_S', 900);
const URL_ = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DIM = 512;
const CENTRES = 2_000;
const PER_FILE = 1_000;
const K = 10;
const MODEL = { name: 'bench/vector/512', dimensions: DIM };
/** The product's own index parameters. */
const HNSW = HNSW_DEFAULTS;
/** Query-time candidate lists measured beside the product's default (PostgresStorage's efSearch). */
const EF_SWEEP = [40, 100, 200];

/** mulberry32: a tiny seeded PRNG, so every vector can be regenerated from its index. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}
function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}
/**
 * Real embeddings lie near a low-dimensional manifold; uniform noise in 512-d has no
 * near neighbours at all. So: clustered points in a LATENT-d space, mapped to 512-d
 * by one fixed random projection, plus a little full-dimensional noise.
 */
const LATENT = 48;
const projection: Float32Array = (() => {
  const r = rng(424_242);
  return Float32Array.from({ length: DIM * LATENT }, () => gauss(r) / Math.sqrt(LATENT));
})();
const centres: Float32Array[] = Array.from({ length: CENTRES }, (_, c) => {
  const r = rng(1_000_003 * (c + 1));
  return Float32Array.from({ length: LATENT }, () => gauss(r));
});
function embed(z: Float32Array, r: () => number, noise: number): Float32Array {
  const v = new Float32Array(DIM);
  for (let d = 0; d < DIM; d++) {
    let x = 0;
    const row = d * LATENT;
    for (let l = 0; l < LATENT; l++) x += projection[row + l]! * z[l]!;
    v[d] = x + noise * gauss(r);
  }
  return normalise(v);
}
function latentOf(i: number, r: () => number): Float32Array {
  const c = centres[Math.floor(r() * CENTRES)]!;
  return Float32Array.from(c, (x) => x + 0.5 * gauss(r));
}
/** Corpus vector i, regenerated from its index. */
function vectorOf(i: number): Float32Array {
  const r = rng(7_919 * (i + 1));
  return embed(latentOf(i, r), r, 0.05);
}
/** Query q: a corpus point moved a little in the latent space. */
function queryOf(q: number, size: number): Float32Array {
  const r = rng(31_337 * (q + 1));
  const i = Math.floor(r() * size);
  const ri = rng(7_919 * (i + 1));
  const z = latentOf(i, ri);
  for (let l = 0; l < LATENT; l++) z[l]! += 0.15 * gauss(r);
  return embed(z, r, 0.05);
}

/** Exact top-k ids ("file:chunk") of each query by a streaming scan of the regenerated corpus. */
function exactTopK(queries: Float32Array[], size: number): string[][] {
  const best = queries.map(() => [] as Array<{ id: number; s: number }>);
  for (let i = 0; i < size; i++) {
    const v = vectorOf(i);
    for (let q = 0; q < queries.length; q++) {
      const qv = queries[q]!;
      let s = 0;
      for (let d = 0; d < DIM; d++) s += qv[d]! * v[d]!;
      const b = best[q]!;
      if (b.length < K || s > b[b.length - 1]!.s) {
        b.push({ id: i, s });
        b.sort((x, y) => y.s - x.s);
        if (b.length > K) b.pop();
      }
    }
  }
  return best.map((b) => b.map((h) => idOf(h.id)));
}
const idOf = (i: number) => `f${Math.floor(i / PER_FILE)}:${i % PER_FILE}`;

async function load(storage: Storage, size: number): Promise<number> {
  const started = performance.now();
  for (let f = 0; f * PER_FILE < size; f++) {
    const id = `f${f}`;
    await storage.files.createFile({ id, ownerId: 'bench', name: id, contentType: 'text/plain', collection: 'kb', sizeBytes: 1, path: id });
    const chunks: ChunkInput[] = [];
    for (let i = f * PER_FILE; i < Math.min(size, (f + 1) * PER_FILE); i++) chunks.push({ index: i % PER_FILE, text: `chunk ${i}`, metadata: {}, embedding: vectorOf(i) });
    await storage.files.replaceChunks(id, chunks, MODEL);
    if (f % 100 === 99) console.log(`  loaded ${(f + 1) * PER_FILE} chunks (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return (performance.now() - started) / 1000;
}

async function measure(storage: Storage, size: number, truth: string[][]): Promise<{ p50: number; p99: number; recall: number }> {
  const times: number[] = [];
  const run = async (q: number) => {
    const t0 = performance.now();
    const hits = await storage.files.query({ collection: 'kb', ownerId: 'bench', embedding: queryOf(q, size), k: K, model: MODEL.name });
    times.push(performance.now() - t0);
    return hits.map((h) => `${h.fileId}:${h.chunk}`);
  };
  for (let q = 0; q < 10; q++) await run(QUERIES + q); // warm-up: plans prepared, pages cached
  times.length = 0;
  let found = 0;
  for (let q = 0; q < QUERIES; q++) {
    const ids = await run(q);
    if (q < truth.length) found += ids.filter((id) => truth[q]!.includes(id)).length;
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), recall: found / (truth.length * K) };
}

/** Postgres at one size in its own schema: load without the index, build it (bounded), measure. */
async function postgresAt(size: number, truth: () => string[][]): Promise<{ built: boolean; buildS: number; loadS: number; p50: number; p99: number; recall: number; sweep: Record<string, number> }> {
  const schema = `swy_bench_${process.pid}_${size}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const storage = await openPostgresStorage({ url: URL_, schema, poolSize: 2, logger: silentLogger() });
  try {
    await admin.query(`SET search_path = ${schema}, public`);
    // The first write creates the space and its index; dropped for the bulk load, rebuilt once after.
    const loadS = await (async () => {
      await storage.files.createFile({ id: 'seed', ownerId: 'seed', name: 's', contentType: 'text/plain', collection: 'seed', sizeBytes: 1, path: 's' });
      await storage.files.replaceChunks('seed', [{ index: 0, text: 's', metadata: {}, embedding: vectorOf(0) }], MODEL);
      const space = (await admin.query("SELECT id FROM vec_spaces WHERE model = $1", [MODEL.name])).rows[0].id as number;
      await admin.query(`DROP INDEX IF EXISTS chunks_hnsw_${space}`);
      await storage.files.deleteFile('seed');
      return load(storage, size);
    })();
    const space = (await admin.query("SELECT id FROM vec_spaces WHERE model = $1", [MODEL.name])).rows[0].id as number;
    // The graph of 1M × 512-d fits in 4 GB: a build that spills past maintenance_work_mem is many times slower.
    await admin.query("SET maintenance_work_mem = '4GB'");
    await admin.query(`SET statement_timeout = ${BUILD_LIMIT_S * 1000}`);
    const t0 = performance.now();
    let built = true;
    try {
      await admin.query(hnswIndexSql(space, DIM, HNSW)!);
    } catch (err) {
      if ((err as { code?: string }).code !== '57014') throw err; // query_canceled: over the limit
      built = false;
    }
    const buildS = (performance.now() - t0) / 1000;
    console.log(`  postgres ${size}: loaded in ${loadS.toFixed(1)} s, HNSW ${built ? 'built' : 'NOT built within the limit'} in ${buildS.toFixed(1)} s`);
    if (!built) return { built, buildS, loadS, p50: NaN, p99: NaN, recall: NaN, sweep: {} };
    await admin.query('ANALYZE chunks');
    // The same index read with other candidate lists (hnsw.ef_search), for the recall/latency trade-off.
    // Run first: they also warm the freshly built index, which cold gave the first reader p99 102 ms at 1M
    // where the next readers saw 13-17 ms; the product's default is measured after them.
    const sweep: Record<string, number> = {};
    for (const ef of EF_SWEEP) {
      const other = await openPostgresStorage({ url: URL_, schema, poolSize: 2, efSearch: ef, logger: silentLogger() });
      try {
        const e = await measure(other, size, truth());
        console.log(`  postgres ${size}, ef_search ${ef}: p50 ${fmt(e.p50)} ms, p99 ${fmt(e.p99)} ms, recall ${fmt(e.recall)}`);
        Object.assign(sweep, { [`P99MsEf${ef}`]: e.p99, [`RecallEf${ef}`]: e.recall });
      } finally {
        await other.close();
      }
    }
    const m = await measure(storage, size, truth());
    return { built, buildS, loadS, ...m, sweep };
  } finally {
    await storage.close();
    await admin.query('RESET statement_timeout');
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  console.log(`vector bench: ${SIZE} chunks (pgvector HNSW m=${HNSW.m} ef_construction=${HNSW.efConstruction} vs sqlite-vec brute force), then ${LARGE || 'no'} on postgres; ${QUERIES} queries, recall@${K} over ${RECALL_QUERIES}`);
  const metrics: Record<string, number> = { size: SIZE };
  const truthAt = new Map<number, string[][]>();
  const truth = (size: number) => () => {
    if (!truthAt.has(size)) {
      const t0 = performance.now();
      truthAt.set(size, exactTopK(Array.from({ length: RECALL_QUERIES }, (_, q) => queryOf(q, size)), size));
      console.log(`  exact top-${K} of ${RECALL_QUERIES} queries at ${size}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return truthAt.get(size)!;
  };

  const dir = mkdtempSync(join(tmpdir(), 'swy-vector-bench-'));
  try {
    const sqlite = await openSqliteStorage({ dataDir: dir, logger: silentLogger() });
    try {
      const loadS = await load(sqlite, SIZE);
      const m = await measure(sqlite, SIZE, truth(SIZE)());
      console.log(`  sqlite ${SIZE}: load ${loadS.toFixed(1)} s, p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms, recall ${fmt(m.recall)}`);
      Object.assign(metrics, { sqliteLoadS: loadS, sqliteP50Ms: m.p50, sqliteP99Ms: m.p99, sqliteRecall: m.recall });
    } finally {
      await sqlite.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const p = await postgresAt(SIZE, truth(SIZE));
  console.log(`  postgres ${SIZE}: p50 ${fmt(p.p50)} ms, p99 ${fmt(p.p99)} ms, recall ${fmt(p.recall)}`);
  Object.assign(metrics, { pgLoadS: p.loadS, pgBuildS: p.buildS, pgP50Ms: p.p50, pgP99Ms: p.p99, pgRecall: p.recall });
  for (const [k, v] of Object.entries(p.sweep)) metrics[`pg${k}`] = v;

  const targets: Parameters<typeof reportResult>[2] = { pgP99Ms: { max: 20 }, pgRecall: { min: 0.95 } };
  if (LARGE > 0) {
    let size = LARGE;
    for (;;) {
      const l = await postgresAt(size, truth(size));
      if (!l.built) {
        metrics[`pgBuildSOver${size}`] = l.buildS;
        size = Math.floor(size / 2);
        if (size <= SIZE) break;
        continue;
      }
      console.log(`  postgres ${size}: p50 ${fmt(l.p50)} ms, p99 ${fmt(l.p99)} ms, recall ${fmt(l.recall)}`);
      Object.assign(metrics, { largeSize: size, pgLargeLoadS: l.loadS, pgLargeBuildS: l.buildS, pgLargeP50Ms: l.p50, pgLargeP99Ms: l.p99, pgLargeRecall: l.recall });
      for (const [k, v] of Object.entries(l.sweep)) metrics[`pgLarge${k}`] = v;
      targets.pgLargeP99Ms = { max: 50 };
      targets.pgLargeRecall = { min: 0.95 };
      break;
    }
  }
  const result = reportResult('vector', metrics, targets);
  process.exitCode = result.pass ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
