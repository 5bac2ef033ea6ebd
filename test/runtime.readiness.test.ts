import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';

async function readyz(port: number): Promise<{ status: number; body: { status: string; checks: Record<string, boolean> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, boolean> } };
}

describe('/readyz checks every backend the runtime opened', () => {
  let t: TestRuntime;
  after(() => t?.runtime.stop());

  it('names coordination, the job queue and storage; a closed store turns it 503 naming storage', async () => {
    t = await startRuntime();
    const up = await readyz(t.runtime.port);
    assert.equal(up.status, 200);
    assert.deepEqual(up.body.checks, { coordination: true, jobs: true, storage: true, accepting: true });

    await t.runtime.storage.close();
    const down = await readyz(t.runtime.port);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'not_ready');
    assert.deepEqual(down.body.checks, { coordination: true, jobs: true, storage: false, accepting: true });
  });
});
