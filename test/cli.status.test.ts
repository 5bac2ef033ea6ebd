import './helpers/guard.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { TokenService } from '../src/auth/tokens.js';
import { TestClient } from './helpers/gateway.js';
import { startRuntime, TEST_SECRET, type TestRuntime } from './helpers/runtime.js';

const CLI = new URL('../src/cli.js', import.meta.url).pathname;
const tokens = new TokenService(TEST_SECRET);

/** Runs the built CLI to completion (bounded) and returns its exit code and output. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli ${args.join(' ')} hung`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('switchyard status / token (CLI)', () => {
  let t: TestRuntime;
  let url: string;
  let client: TestClient;
  before(async () => {
    t = await startRuntime();
    url = `http://127.0.0.1:${t.runtime.port}`;
    client = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws?token=${await tokens.sign({ sub: 'alice' })}`);
  });
  after(async () => {
    client?.terminate();
    await t?.runtime.stop();
  });

  it('status prints the cluster summary: instances, lease holder, connections, one row per instance', async () => {
    const r = await run(['status', '--url', url], { SWITCHYARD_TOKEN: await tokens.sign({ sub: 'ops', role: 'admin' }) });
    assert.equal(r.code, 0, r.stderr);
    const id = t.runtime.instanceId;
    assert.match(r.stdout, /cluster: 1 instance\(s\) · coordination memory/);
    assert.match(r.stdout, new RegExp(`usage cleanup held by ${id}`));
    assert.match(r.stdout, /load: +1 connections/);
    assert.match(r.stdout, new RegExp(`^${id}\\*\\s`, 'm'));
  });

  it('status --json prints the /api/stats document', async () => {
    const r = await run(['status', '--url', url, '--json', '--token', await tokens.sign({ sub: 'ops', role: 'admin' })]);
    assert.equal(r.code, 0, r.stderr);
    const view = JSON.parse(r.stdout) as { instances: unknown[]; cluster: { connections: number } };
    assert.equal(view.instances.length, 1);
    assert.equal(view.cluster.connections, 1);
  });

  it('status with a non-admin token fails with the server error code', async () => {
    const r = await run(['status', '--url', url, '--token', await tokens.sign({ sub: 'u', role: 'user' })]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /SWY_FORBIDDEN/);
    assert.equal(r.stdout, '');
  });

  it('token mints a token the server accepts with the requested role', async () => {
    const r = await run(['token', '--sub', 'bob', '--role', 'admin'], { JWT_SECRET: TEST_SECRET });
    assert.equal(r.code, 0, r.stderr);
    const res = await fetch(`${url}/api/stats`, { headers: { authorization: `Bearer ${r.stdout.trim()}` } });
    assert.equal(res.status, 200);
    const bad = await run(['token', '--sub', 'bob', '--role', 'root'], { JWT_SECRET: TEST_SECRET });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--role must be user or admin/);
  });

  it('unknown commands and options are usage errors (exit 2)', async () => {
    const r = await run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    const o = await run(['status', '--nope']);
    assert.equal(o.code, 2);
  });
});
