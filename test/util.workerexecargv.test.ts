import './helpers/guard.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { workerExecArgv } from '../src/util/workerExecArgv.js';

describe('workerExecArgv', () => {
  it("keeps Node's per-thread flags with their values and drops V8's flags and the parent's eval", () => {
    const parent = ['--max-old-space-size=4096', '--trace-gc', '--require', './preload.cjs', '--import=tsx', '--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--input-type=module', '-e', 'console.log(1)', '--enable-source-maps', '-r', 'x.cjs', '--stack-size=2000'];
    assert.deepEqual(workerExecArgv(parent), ['--require', './preload.cjs', '--import=tsx', '--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--enable-source-maps', '-r', 'x.cjs']);
    assert.deepEqual(workerExecArgv([]), []);
  });

  it('gives a list a real Worker accepts where the raw flags are refused', async () => {
    const parent = ['--max-old-space-size=4096', '--trace-gc', '--stack-size=2000', '--no-warnings'];
    assert.throws(() => new Worker('0', { eval: true, execArgv: parent }), /invalid execArgv/);
    const worker = new Worker('require("node:worker_threads").parentPort.postMessage(42)', { eval: true, execArgv: workerExecArgv(parent) });
    const got = await new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.equal(got, 42);
    await worker.terminate();
  });
});
