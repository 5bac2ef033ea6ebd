import './helpers/guard.js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TokenService } from '../src/auth/tokens.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';

const CLI = new URL('../src/cli.js', import.meta.url).pathname;
const STATE = '.switchyard-ingest.json';
const RUN_TIMEOUT_MS = 60_000;
const tokens = new TokenService(TEST_SECRET);

interface CliRun {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exit: Promise<number | null>;
}

/** Runs the built CLI as a user would; output is collected as it comes, for progress assertions. */
function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout!.on('data', (d: Buffer) => stdout.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exit = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli ${args[0]} did not finish within ${RUN_TIMEOUT_MS} ms:\n${stderr.join('')}`));
    }, RUN_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { child, stdout, stderr, exit };
}

/** 20 small, distinct files of the three text kinds, a few paragraphs each (so each makes chunks). */
function makeFolder(tag: string, count = 20): string {
  const dir = mkdtempSync(join(tmpdir(), `swy-cli-${tag}-`));
  mkdirSync(join(dir, 'nested'));
  for (let i = 0; i < count; i++) {
    const para = (n: number) => `Paragraph ${n} of ${tag} file ${i}: switchyards sort freight cars onto tracks by destination, ${'signal '.repeat(20 + i)}.`;
    const text = [1, 2, 3].map(para).join('\n\n');
    const kind = i % 3;
    if (kind === 0) writeFileSync(join(dir, `doc-${i}.md`), `# ${tag} ${i}\n\n${text}\n`);
    else if (kind === 1) writeFileSync(join(dir, 'nested', `note-${i}.txt`), `${text}\n`);
    else writeFileSync(join(dir, `page-${i}.html`), `<html><body><h1>${tag} ${i}</h1><p>${text}</p></body></html>`);
  }
  return dir;
}

interface StateEntry {
  id: string;
  name: string;
  status: string;
  chunks: number;
}
function readState(dir: string, collection: string): Record<string, StateEntry> {
  return (JSON.parse(readFileSync(join(dir, STATE), 'utf8')) as { collections: Record<string, Record<string, StateEntry>> }).collections[collection] ?? {};
}

/**
 * A counting reverse proxy in front of the real server: it records every upload by file
 * name (the observable "was this file sent twice?") and can slow uploads down so a run
 * can be interrupted half-way.
 */
class CountingProxy {
  readonly uploads = new Map<string, number>();
  uploadDelayMs = 0;
  private server!: Server;
  url = '';

  async start(target: number): Promise<void> {
    this.server = createServer((req, res) => {
      const forward = () => {
        if (req.method === 'POST' && req.url?.startsWith('/api/files')) {
          const name = decodeURIComponent(String(req.headers['x-filename'] ?? '?'));
          this.uploads.set(name, (this.uploads.get(name) ?? 0) + 1);
        }
        const up = request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on('error', () => res.destroy());
        req.pipe(up);
      };
      if (this.uploadDelayMs > 0 && req.method === 'POST') setTimeout(forward, this.uploadDelayMs);
      else forward();
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  total(): number {
    return [...this.uploads.values()].reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('switchyard ingest (CLI against a real server)', () => {
  let t: TestRuntime;
  const proxy = new CountingProxy();
  let token: string;
  const cli = (dir: string, collection: string, extra: string[] = []) =>
    runCli(['ingest', dir, '--collection', collection, '--url', proxy.url, '--poll-ms', '100', ...extra], { SWITCHYARD_TOKEN: token });

  before(async () => {
    // The lexical hash embedder: deterministic and fast, so the test measures the CLI, not a model.
    t = await startRuntime({ ingest: { embedding: { provider: 'hash' } } });
    await proxy.start(t.runtime.port);
    token = await tokens.sign({ sub: 'ops', role: 'admin' });
  });
  after(async () => {
    await proxy.stop();
    await t?.runtime.stop();
  });

  const dirA = makeFolder('a');

  it('ingests a folder of 20 files: progress reaches 20/20 and the summary lists them', async () => {
    const run = cli(dirA, 'a');
    const code = await run.exit;
    const err = run.stderr.join('');
    const out = run.stdout.join('');
    assert.equal(code, 0, `exit code (stderr: ${err}\nstdout: ${out})`);
    assert.match(err, /\b20\/20 files\b/, 'the progress reaches 20/20');
    assert.match(err, /ETA/);
    assert.match(out, /20 files · 20 finished · 0 failed/);
    const state = readState(dirA, 'a');
    assert.equal(Object.keys(state).length, 20);
    assert.ok(Object.values(state).every((e) => e.status === 'finished' && e.chunks > 0), 'every file finished with chunks');
    assert.equal(proxy.total(), 20);
  });

  it('a second run over the same folder uploads nothing and leaves chunk counts unchanged', async () => {
    const before = readState(dirA, 'a');
    const uploadsBefore = proxy.total();
    const run = cli(dirA, 'a');
    assert.equal(await run.exit, 0);
    assert.equal(proxy.total(), uploadsBefore, 'no upload');
    assert.match(run.stdout.join(''), /20 finished \(20 already done by an earlier run\)/);
    for (const [hash, entry] of Object.entries(readState(dirA, 'a'))) {
      const res = await fetch(`${proxy.url}/api/files/${entry.id}`, { headers: { authorization: `Bearer ${token}` } });
      const file = (await res.json()) as { chunks: number; status: string };
      assert.equal(file.status, 'finished');
      assert.equal(file.chunks, before[hash]!.chunks, `chunks of ${entry.name} unchanged`);
    }
  });

  it('an interrupted run resumes without sending any file twice', async () => {
    const dirB = makeFolder('b');
    proxy.uploads.clear();
    proxy.uploadDelayMs = 150; // slow uploads so Ctrl-C lands half-way
    const first = cli(dirB, 'b', ['--concurrency', '1']);
    await waitFor(() => /\b(9|1\d)\/20 uploaded\b/.test(first.stderr.join('')), { timeoutMs: 30_000, intervalMs: 20, what: 'half the uploads' });
    first.child.kill('SIGINT');
    const code = await first.exit;
    proxy.uploadDelayMs = 0;
    assert.equal(code, 130, `interrupted exit code (stderr: ${first.stderr.join('')})`);
    assert.match(first.stdout.join(''), /run the same command again to resume/);
    const partial = Object.keys(readState(dirB, 'b')).length;
    assert.ok(partial >= 9 && partial < 20, `about half recorded, got ${partial}`);

    const second = cli(dirB, 'b');
    assert.equal(await second.exit, 0, second.stderr.join(''));
    assert.match(second.stderr.join(''), /\b20\/20 files\b/);
    // The observable proof: the server received each file exactly once across both runs.
    assert.equal(proxy.uploads.size, 20);
    assert.deepEqual([...new Set(proxy.uploads.values())], [1], `uploads per file: ${JSON.stringify([...proxy.uploads])}`);

    // And the collection holds chunks of exactly those 20 files (a duplicate would add a 21st id).
    const state = readState(dirB, 'b');
    const ids = new Set(Object.values(state).map((e) => e.id));
    assert.equal(ids.size, 20);
    const totalChunks = Object.values(state).reduce((n, e) => n + e.chunks, 0);
    const res = await fetch(`${proxy.url}/api/retrieval/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ collection: 'b', query: 'switchyards sort freight cars', k: 100 }),
    });
    assert.equal(res.status, 200);
    const hits = (await res.json()) as Array<{ file_id: string }>;
    assert.ok(hits.length > 0 && hits.length <= totalChunks);
    assert.ok(hits.every((h) => ids.has(h.file_id)), 'every stored chunk belongs to a recorded file');
  });

  it('lists failures with their reasons and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-cli-bad-'));
    writeFileSync(join(dir, 'good.txt'), 'a perfectly fine text file about signal boxes\n');
    writeFileSync(join(dir, 'broken.pdf'), 'this is not a PDF at all');
    writeFileSync(join(dir, 'image.png'), 'not supported, skipped locally');
    const run = cli(dir, 'c');
    assert.equal(await run.exit, 1);
    const out = run.stdout.join('');
    assert.match(out, /2 files · 1 finished · 1 failed/);
    assert.match(out, /failed:\n {2}broken\.pdf: SWY_FILE_\w+/);
    assert.match(run.stderr.join(''), /skipping 1 unsupported file\(s\): image\.png/);
  });

  it('fails clearly without a token, with an unreachable server, or with a missing folder', async () => {
    const noToken = runCli(['ingest', dirA, '--collection', 'a', '--url', proxy.url]);
    assert.equal(await noToken.exit, 2);
    assert.match(noToken.stderr.join(''), /token is required/);
    const down = runCli(['ingest', makeFolder('down', 1), '--collection', 'a', '--url', 'http://127.0.0.1:1'], { SWITCHYARD_TOKEN: token });
    assert.equal(await down.exit, 1);
    assert.match(down.stderr.join(''), /cannot reach http:\/\/127\.0\.0\.1:1/);
    const missing = runCli(['ingest', join(dirA, 'nope'), '--collection', 'a', '--url', proxy.url], { SWITCHYARD_TOKEN: token });
    assert.equal(await missing.exit, 2);
    assert.match(missing.stderr.join(''), /is not a directory/);
  });
});
