import './helpers/guard.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { corpusFile } from './helpers/files.js';
import { EmbeddingUpstream } from './helpers/embeddingUpstream.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { IngestClient } from './ingest.helpers.js';

/**
 * SPEC §5: embedding API keys are never logged and never stored in job payloads.
 * The original system put the key into its RQ job arguments, so anyone with Redis
 * read access had every user's key. Here the whole Redis keyspace (every type,
 * BullMQ job hashes and event streams included), every log line at debug level,
 * every file record, the database files and every error a caller sees are scanned
 * for the raw key after real jobs — finished, retried and failed — used it.
 */

// Random per run, so a hit can only come from this run, never a leftover.
const ALICE_KEY = `sk-alice-${randomBytes(12).toString('hex')}`;
const BOB_KEY = `sk-bob-${randomBytes(12).toString('hex')}`;
const KEYS = [ALICE_KEY, BOB_KEY];

interface Hit {
  readonly where: string;
  readonly secret: string;
}

function hitsIn(where: string, value: Buffer | string): Hit[] {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return KEYS.filter((k) => bytes.includes(k)).map((secret) => ({ where, secret }));
}

interface RedisScan {
  readonly hits: Hit[];
  /** How many keys of each Redis type were read (proves the scan saw what it claims to cover). */
  readonly types: Map<string, number>;
  /** Every value read, for coverage assertions (job payloads must be among them). */
  readonly values: string[];
}

/** Reads every key of the database with the reader for its type; key names are scanned too. */
async function scanRedis(redis: Redis): Promise<RedisScan> {
  const hits: Hit[] = [];
  const types = new Map<string, number>();
  const values: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scanBuffer(cursor, 'COUNT', 500);
    cursor = String(next);
    for (const keyBuf of keys) {
      const key = keyBuf.toString('utf8');
      hits.push(...hitsIn(`key name ${key}`, keyBuf));
      const type = await redis.type(keyBuf);
      types.set(type, (types.get(type) ?? 0) + 1);
      let parts: Buffer[];
      switch (type) {
        case 'string':
          parts = [(await redis.getBuffer(keyBuf)) ?? Buffer.alloc(0)];
          break;
        case 'hash':
          parts = await redis.hgetallBuffer(keyBuf).then((h) => Object.entries(h).flatMap(([f, v]) => [Buffer.from(f), v]));
          break;
        case 'list':
          parts = await redis.lrangeBuffer(keyBuf, 0, -1);
          break;
        case 'set':
          parts = await redis.smembersBuffer(keyBuf);
          break;
        case 'zset':
          parts = await redis.zrangeBuffer(keyBuf, 0, -1);
          break;
        case 'stream':
          parts = (await redis.xrangeBuffer(keyBuf, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
          break;
        case 'none':
          parts = []; // expired between SCAN and TYPE
          break;
        default:
          throw new Error(`key ${key} has type ${type}, which this scan cannot read: extend it rather than skip it`);
      }
      for (const part of parts) {
        hits.push(...hitsIn(`${type} ${key}`, part));
        values.push(part.toString('utf8'));
      }
    }
  } while (cursor !== '0');
  return { hits, types, values };
}

/** Every file under dir (SQLite database + WAL, uploads, encrypted key files). */
function scanDir(dir: string): Hit[] {
  const hits: Hit[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) hits.push(...scanDir(path));
    else hits.push(...hitsIn(`file ${path}`, readFileSync(path)));
  }
  return hits;
}

// The inner describe's after() runs before describeRedis stops the server: a runtime
// stopped against a dead Redis waits out its shutdown deadline and leaves reconnect timers.
await describeRedis('ingestion secrets on Redis', (server) => describe('per-user API keys', () => {
  const prefix = randomPrefix();
  let upstream: EmbeddingUpstream;
  let t: TestRuntime;
  let redis: Redis;
  let alice: IngestClient;
  let bob: IngestClient;
  /** Every error body a caller received, scanned at the end. */
  const replies: Array<{ what: string; body: unknown }> = [];
  const fileIds: string[] = [];

  before(async () => {
    upstream = await EmbeddingUpstream.start();
    t = await startRuntime({
      coordination: 'redis',
      redisUrl: server.url,
      redisKeyPrefix: prefix,
      log: { level: 'debug', components: {} },
      threadPoolSize: 1,
      ingest: { embedding: { provider: 'openai', baseUrl: upstream.url, model: 'test-embed', batchSize: 16 }, retryBaseMs: 50, jobMaxRetries: 3 },
    });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    alice = await IngestClient.of(t.runtime, 'alice');
    bob = await IngestClient.of(t.runtime, 'bob');
  });
  after(async () => {
    redis?.disconnect();
    await t?.runtime.stop();
    await upstream?.close();
  });

  it('stores each user key only after the upstream accepted it; a rejected key comes back without itself', async () => {
    // An upstream that echoes the key in its error body (some do): the reply must not copy it.
    upstream.script = (_n, req) => ({ status: 401, body: `{"error":{"message":"Incorrect API key provided: ${req.authorization}"}}` });
    const refused = await alice.request('PUT', '/api/embedding/key', { api_key: ALICE_KEY });
    replies.push({ what: 'refused PUT key', body: refused.body });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'SWY_EMBEDDING_REJECTED');
    upstream.script = () => null;
    for (const [client, key] of [[alice, ALICE_KEY], [bob, BOB_KEY]] as const) {
      const ok = await client.request('PUT', '/api/embedding/key', { api_key: key });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    }
  });

  it('ingests files of both users with their own keys, including a retried job', async () => {
    let failures = 0;
    // Two 500s first: BullMQ records the failed attempt (failedReason, stacktrace) in the job hash.
    upstream.script = () => (failures++ < 2 ? { status: 500, body: `{"error":"overloaded for ${ALICE_KEY}"}` } : null);
    const uploads = await Promise.all([0, 1, 2, 3].map(async (i) => (i % 2 === 0 ? alice : bob).upload(await corpusFile(i, 3))));
    for (const res of uploads) {
      assert.equal(res.status, 202, JSON.stringify(res.body));
      fileIds.push(res.body.id);
    }
    for (const [i, id] of fileIds.entries()) {
      const rec = await (i % 2 === 0 ? alice : bob).waitStatus(id, ['finished', 'failed'], 20_000);
      assert.equal(rec.status, 'finished', rec.error);
    }
    const auth = new Set(upstream.requests.map((r) => r.authorization));
    // The keys really travelled (resolved when the jobs ran), so their absence below means something.
    assert.ok(auth.has(`Bearer ${ALICE_KEY}`) && auth.has(`Bearer ${BOB_KEY}`), `upstream saw ${[...auth].length} distinct keys`);
    assert.ok(failures >= 2, 'the scripted failures happened');
  });

  it('fails a job at once on upstream 401, with an error that does not carry the key', async () => {
    upstream.script = (_n, req) => ({ status: 401, body: `{"error":{"message":"Incorrect API key provided: ${req.authorization}"}}` });
    const before = upstream.requests.length;
    const res = await alice.upload(await corpusFile(7, 3));
    assert.equal(res.status, 202);
    fileIds.push(res.body.id);
    const rec = await alice.waitStatus(res.body.id, ['finished', 'failed'], 15_000);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.attempts, 1, 'a 401 is permanent: no retry');
    assert.match(rec.error, /^SWY_EMBEDDING_REJECTED: /);
    assert.equal(upstream.requests.at(-1)!.authorization, `Bearer ${ALICE_KEY}`, 'the failing request used the key');
    assert.equal(upstream.requests.length - before, 1);
    assert.deepEqual(hitsIn('file error', rec.error), []);
    // The failed job in BullMQ: its failedReason and stacktrace are what an operator reads.
    const job = await t.runtime.ingest.queue.get(t.runtime.ingest.queue.jobId(res.body.id));
    assert.ok(job, 'the failed job record is kept (JOB_FAILURE_TTL)');
    assert.deepEqual(hitsIn('job record', JSON.stringify(job)), []);
    const bullHash = await redis.hgetall(`${prefix}:bull:ingest:${t.runtime.ingest.queue.jobId(res.body.id)}`);
    assert.match(bullHash.failedReason ?? '', /SWY_EMBEDDING_REJECTED/, 'the scan below reads the real failed job hash');
    assert.deepEqual(hitsIn('failed job hash', JSON.stringify(bullHash)), []);
    // A query while the upstream refuses: the error reply must not echo the key either.
    const q = await alice.query('default', 'copper lanterns', 3);
    replies.push({ what: 'query during 401', body: q.body });
    assert.ok(q.status >= 400, `query answered ${q.status}`);
    upstream.script = () => null;
  });

  it('the scan finds a planted key in every Redis type (it can fail)', async () => {
    const canary = `${prefix}:canary`;
    await redis
      .multi()
      .set(`${canary}:s`, `x${ALICE_KEY}x`)
      .hset(`${canary}:h`, 'f', ALICE_KEY)
      .rpush(`${canary}:l`, ALICE_KEY)
      .sadd(`${canary}:set`, ALICE_KEY)
      .zadd(`${canary}:z`, 1, ALICE_KEY)
      .xadd(`${canary}:x`, '*', 'k', ALICE_KEY)
      .set(`${canary}:${BOB_KEY}`, 'name')
      .exec();
    try {
      const { hits } = await scanRedis(redis);
      const where = hits.map((h) => h.where).sort();
      assert.deepEqual(where, [
        `hash ${canary}:h`,
        `key name ${canary}:${BOB_KEY}`,
        `list ${canary}:l`,
        `set ${canary}:set`,
        `stream ${canary}:x`,
        `string ${canary}:s`,
        `zset ${canary}:z`,
      ]);
    } finally {
      await redis.del(`${canary}:s`, `${canary}:h`, `${canary}:l`, `${canary}:set`, `${canary}:z`, `${canary}:x`, `${canary}:${BOB_KEY}`);
    }
  });

  it('no key anywhere in Redis (every type, job payloads included)', async () => {
    const { hits, types, values } = await scanRedis(redis);
    assert.deepEqual(hits, []);
    // Coverage: BullMQ job hashes (payloads), its events stream and state zsets/lists were all read.
    for (const type of ['hash', 'stream', 'zset']) assert.ok((types.get(type) ?? 0) > 0, `no ${type} keys were scanned: ${[...types].join(', ')}`);
    for (const id of fileIds) {
      assert.ok(
        values.some((v) => v.includes(`"fileId":"${id}"`)),
        `the payload of the job of file ${id} was among the scanned values`,
      );
    }
  });

  it('no key in any log line (debug level), file record, database file or error reply', async () => {
    // Debug is where payload-shaped details would show up; the whole runtime logs at that level here.
    assert.equal(t.runtime.config.log.level, 'debug');
    // The failed job's warn line carries the error an operator reads: the likeliest place for a leak.
    assert.ok(t.logs.lines.some((l) => l.includes('ingestion failed') && l.includes('SWY_EMBEDDING_REJECTED')), 'the failure was logged');
    const logHits = t.logs.lines.flatMap((line, i) => hitsIn(`log line ${i}: ${line.slice(0, 200)}`, line));
    assert.deepEqual(logHits, []);
    const records = await t.runtime.storage.files.listByStatus(['queued', 'started', 'finished', 'failed', 'deferred', 'canceled']);
    assert.equal(records.length, fileIds.length);
    assert.deepEqual(records.flatMap((r) => hitsIn(`file record ${r.id}`, JSON.stringify(r))), []);
    assert.ok(records.some((r) => r.error), 'a file error was among the records');
    assert.deepEqual(replies.flatMap((r) => hitsIn(r.what, JSON.stringify(r.body))), []);
    assert.ok(replies.every((r) => JSON.stringify(r.body).includes('"code"')), 'the scanned replies are error replies');
    assert.deepEqual(scanDir(t.runtime.config.dataDir), []);
  });
}));
