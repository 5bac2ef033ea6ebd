import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as Y from 'yjs';
import { createCompactor } from '../src/docs/compact.js';
import { JobError } from '../src/ingest/errors.js';
import { runIngestTask } from '../src/ingest/poolTasks.js';
import { silentLogger } from '../src/observability/logger.js';
import { PoolTaskError } from '../src/pool/PoolTaskError.js';
import { WorkerPool } from '../src/pool/WorkerPool.js';
import type { FixtureTask } from './fixtures/poolTasks.js';

const TASKS = new URL('./fixtures/poolTasks.js', import.meta.url).href;

function isPoolError(code: string, permanent: boolean) {
  return (err: unknown) => {
    assert.ok(err instanceof PoolTaskError, `a PoolTaskError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.permanent, permanent);
    return true;
  };
}

/** The pool on its own: typed failures, thread limits and deadlines, and the interactive lane. */
describe('worker pool', () => {
  const pool = new WorkerPool({ size: 1, interactiveThreads: 1, limits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 }, log: silentLogger() });
  after(() => pool.close());
  const run = (task: FixtureTask, options = {}) => pool.run<{ value?: unknown }>(TASKS, task, options);

  it('runs a task module and returns its result', async () => {
    assert.deepEqual(await run({ action: 'echo', value: [1, 'two'] }), { value: [1, 'two'] });
  });

  it("returns a task's own refusal with its code and permanence", async () => {
    await assert.rejects(run({ action: 'refuse', permanent: true }), isPoolError('SWY_FILE_CORRUPT', true));
    await assert.rejects(run({ action: 'refuse', permanent: false }), isPoolError('SWY_FILE_CORRUPT', false));
  });

  it('reports a crashed thread or a bug as transient, and replaces the thread', async () => {
    const before = pool.threadIds();
    await assert.rejects(run({ action: 'exit' }), isPoolError('SWY_WORKER_CRASHED', false));
    await assert.rejects(run({ action: 'bug' }), isPoolError('SWY_WORKER_CRASHED', false));
    assert.deepEqual(await run({ action: 'echo', value: 1 }), { value: 1 });
    assert.notDeepEqual(pool.threadIds(), before, 'a fresh thread took the crashed one\'s place');
  });

  it('ends a thread that exceeds its memory limit — never the process — as a permanent failure', async () => {
    await assert.rejects(run({ action: 'grow' }), isPoolError('SWY_WORKER_OUT_OF_MEMORY', true));
    assert.deepEqual(await run({ action: 'echo', value: 'alive' }), { value: 'alive' });
  });

  it('terminates a task past its deadline as a permanent failure and keeps working', async () => {
    const before = pool.threadIds();
    await assert.rejects(run({ action: 'spin' }, { deadlineMs: 300, what: 'the spinner' }), (err: unknown) => {
      isPoolError('SWY_POOL_TASK_TIMEOUT', true)(err);
      assert.match((err as Error).message, /^the spinner did not finish within 300 ms/);
      return true;
    });
    assert.deepEqual(await run({ action: 'echo', value: 2 }), { value: 2 });
    assert.notDeepEqual(pool.threadIds(), before);
  });

  it('an abort wins with its own reason', async () => {
    const controller = new AbortController();
    const reason = new Error('canceled by the caller');
    setTimeout(() => controller.abort(reason), 100);
    await assert.rejects(run({ action: 'spin' }, { signal: controller.signal }), (err) => err === reason);
  });

  it('interactive work never waits behind a busy bulk lane', async () => {
    const hog = run({ action: 'spin' });
    hog.catch(() => {}); // asserted at the end
    const queued = run({ action: 'echo', value: 'queued' }); // behind the hog on the one bulk thread
    const started = Date.now();
    assert.deepEqual(await run({ action: 'echo', value: 'now' }, { lane: 'interactive' }), { value: 'now' });
    // a Yjs compaction through the docs compactor takes the interactive lane too
    const source = new Y.Doc();
    const updates: Uint8Array[] = [];
    source.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 100; i++) source.getText('t').insert(0, 'x'.repeat(1_000));
    const merged = await createCompactor(pool, 16)(updates);
    const replica = new Y.Doc();
    Y.applyUpdate(replica, merged);
    assert.equal(replica.getText('t').length, 100_000);
    assert.ok(Date.now() - started < 2_000, `interactive work took ${Date.now() - started} ms while the bulk lane was busy`);
    assert.equal(await Promise.race([queued.then(() => 'done'), new Promise((r) => setTimeout(() => r('still queued'), 50))]), 'still queued');
    // Close terminates running tasks (Piscina alone would wait for the spinner forever).
    const closing = pool.close();
    await assert.rejects(hog, isPoolError('SWY_SHUTTING_DOWN', false));
    await closing;
  });
});

describe('callers map pool failures to their own errors', () => {
  const pool = new WorkerPool({ size: 1, interactiveThreads: 0, log: silentLogger() });
  after(() => pool.close());

  it('ingest: a JobError with the same code and permanence', async () => {
    await assert.rejects(runIngestTask(pool, TASKS, { action: 'refuse', permanent: true } as never, {}), (err: unknown) => {
      assert.ok(err instanceof JobError && !(err instanceof PoolTaskError));
      assert.equal(err.code, 'SWY_FILE_CORRUPT');
      assert.equal(err.permanent, true);
      return true;
    });
  });

  it('docs: a document error, not the pool\'s (and not an ingest JobError)', async () => {
    const compact = createCompactor(pool, 16);
    await assert.rejects(compact([new Uint8Array(64).fill(7), new Uint8Array(64).fill(255)]), (err: unknown) => {
      assert.ok(!(err instanceof PoolTaskError) && !(err instanceof JobError), `got ${(err as Error).constructor.name}`);
      assert.equal((err as { code?: string }).code, 'SWY_DOC_INVALID_MESSAGE');
      return true;
    });
  });
});
