import './helpers/guard.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TokenService } from '../src/auth/tokens.js';
import { withDeadline } from '../src/util/deadline.js';
import { exitOf, reapOnExit } from './helpers/child.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';

const CLI = new URL('../src/cli.js', import.meta.url).pathname;
const RUN_TIMEOUT_MS = 60_000;

/** `switchyard ingest …` as a user runs it; resolves with the exit code and the output. */
async function ingest(args: string[], token: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'ingest', ...args], { env: { PATH: process.env.PATH, SWITCHYARD_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  reapOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await withDeadline(exitOf(child), RUN_TIMEOUT_MS, () => {
    child.kill('SIGKILL');
    return new Error(`ingest did not finish within ${RUN_TIMEOUT_MS} ms:\n${stderr}`);
  });
  return { code, stdout, stderr };
}

/** `--retry-failed`: a file that failed is uploaded again only when the flag is given. */
describe('switchyard ingest --retry-failed', () => {
  let t: TestRuntime;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), 'swy-cli-retry-'));
  writeFileSync(join(dir, 'good.txt'), 'a perfectly fine text file about signal boxes and points\n');
  writeFileSync(join(dir, 'broken.pdf'), 'this is not a PDF at all');

  /** How many times the server received each file, from its own records (every upload makes one). */
  const received = async (name: string) =>
    (await t.runtime.storage.files.listByStatus(['queued', 'started', 'deferred', 'finished', 'failed', 'canceled'])).filter((f) => f.name === name && f.collection === 'r').length;
  const run = (extra: string[] = []) => ingest([dir, '--collection', 'r', '--url', `http://127.0.0.1:${t.runtime.port}`, '--poll-ms', '100', ...extra], token);

  before(async () => {
    t = await startRuntime({ ingest: { embedding: { provider: 'hash' } } });
    token = await new TokenService(TEST_SECRET).sign({ sub: 'ops' });
  });
  after(() => t.runtime.stop());

  it('first run: the broken file fails (exit 1), each file sent once', async () => {
    const first = await run();
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stdout, /2 files · 1 finished · 1 failed/);
    assert.match(first.stdout, /broken\.pdf: SWY_FILE_\w+/);
    assert.equal(await received('broken.pdf'), 1);
    assert.equal(await received('good.txt'), 1);
  });

  it('without the flag, the failed file is not sent again (it is reported from the state)', async () => {
    const again = await run();
    assert.equal(again.code, 1, 'still failed');
    assert.match(again.stdout, /1 failed/);
    assert.equal(await received('broken.pdf'), 1, 'no second upload of the failed file');
    assert.equal(await received('good.txt'), 1);
  });

  it('with --retry-failed, only the failed file is sent again', async () => {
    const retry = await run(['--retry-failed']);
    assert.equal(retry.code, 1, 'it fails again: the bytes are still not a PDF');
    assert.match(retry.stdout, /broken\.pdf: SWY_FILE_\w+/);
    assert.equal(await received('broken.pdf'), 2, 'uploaded a second time');
    assert.equal(await received('good.txt'), 1, 'a finished file is never sent again');
  });
});
