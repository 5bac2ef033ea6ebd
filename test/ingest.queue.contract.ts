import './helpers/guard.js';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ErrorCode } from '../src/errors.js';
import { JobTimeoutError, PermanentJobError, TransientJobError } from '../src/ingest/errors.js';
import type { JobContext, JobOutcome, JobQueue, JobQueueOptions } from '../src/coordination/jobs/JobQueue.js';
import { sleep, waitFor } from './helpers/wait.js';

/** Two handles on one backend ("two instances"); for memory both are the same queue. */
export interface QueuePair {
  readonly a: JobQueue;
  readonly b: JobQueue;
  cleanup(): Promise<void>;
}

export const FAST_QUEUE: JobQueueOptions = {
  maxRetries: 2,
  backoffBaseMs: 50,
  backoffMaxMs: 200,
  timeoutMs: 5_000,
  resultTtlMs: 60_000,
  failureTtlMs: 60_000,
  leaseMs: 1_000,
};

type Outcomes = Array<{ attempt: number } & JobOutcome>;

/** The one suite every job-queue adapter must pass; each test gets fresh queues. */
export function jobQueueContract(name: string, makePair: (options: JobQueueOptions) => Promise<QueuePair>): void {
  describe(`job queue contract: ${name}`, () => {
    let pair: QueuePair | null = null;
    const open = async (overrides: Partial<JobQueueOptions> = {}) => (pair = await makePair({ ...FAST_QUEUE, ...overrides }));
    afterEach(async () => {
      await pair?.cleanup();
      pair = null;
    });
    const collect = (outcomes: Outcomes) => (job: { attempt: number }, o: JobOutcome) => {
      outcomes.push({ attempt: job.attempt, ...o });
    };

    it('derives the job id from the file id; a duplicate enqueue is a no-op', async () => {
      const { a, b } = await open();
      const first = await a.enqueue({ fileId: 'f1', userId: 'u1' });
      const again = await b.enqueue({ fileId: 'f1', userId: 'u1' });
      assert.equal(first.id, a.jobId('f1'));
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.equal(again.id, first.id);
      let runs = 0;
      a.process(async () => {
        runs += 1;
      }, { concurrency: 2 });
      await waitFor(async () => (await a.get(first.id))?.state === 'finished', { what: 'finished', timeoutMs: 10_000 });
      await sleep(200);
      assert.equal(runs, 1);
    });

    it('goes queued → started → finished and the job carries only file and user ids', async () => {
      const { a } = await open();
      const { id } = await a.enqueue({ fileId: 'f2', userId: 'u1' });
      assert.equal((await a.get(id))?.state, 'queued');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let seen: JobContext | null = null;
      a.process(async (job) => {
        seen = job;
        await gate;
      }, { concurrency: 1 });
      await waitFor(async () => (await a.get(id))?.state === 'started', { what: 'started' });
      release();
      await waitFor(async () => (await a.get(id))?.state === 'finished', { what: 'finished' });
      assert.deepEqual(seen!.data, { fileId: 'f2', userId: 'u1' });
      assert.equal(seen!.attempt, 1);
      assert.equal((await a.get(id))?.attempts, 1);
    });

    it('retries transient errors with backoff (deferred in between) and then finishes', async () => {
      const { a } = await open();
      const outcomes: Outcomes = [];
      const startedAt: number[] = [];
      a.process(async (job) => {
        startedAt.push(Date.now());
        if (job.attempt <= 2) throw new TransientJobError(ErrorCode.EMBEDDING_UNAVAILABLE, `upstream 500 (attempt ${job.attempt})`);
      }, { concurrency: 1, onOutcome: collect(outcomes) });
      const { id } = await a.enqueue({ fileId: 'f3', userId: 'u1' });
      await waitFor(async () => (await a.get(id))?.state === 'finished', { what: 'finished', timeoutMs: 10_000 });
      assert.deepEqual(outcomes.map((o) => [o.attempt, o.state]), [[1, 'deferred'], [2, 'deferred'], [3, 'finished']]);
      assert.match((outcomes[0] as { error: string }).error, /SWY_EMBEDDING_UNAVAILABLE: upstream 500/);
      // Equal jitter: at least half the exponential delay (50 ms, then 100 ms) passes between attempts.
      assert.ok(startedAt[1]! - startedAt[0]! >= 20, `first backoff ${startedAt[1]! - startedAt[0]!} ms`);
      assert.equal((await a.get(id))?.attempts, 3);
    });

    it('fails a permanent error at once, with its message, and never retries it', async () => {
      const { a } = await open();
      const outcomes: Outcomes = [];
      a.process(async () => {
        throw new PermanentJobError(ErrorCode.FILE_CORRUPT, 'not a PDF');
      }, { concurrency: 1, onOutcome: collect(outcomes) });
      const { id } = await a.enqueue({ fileId: 'f4', userId: 'u1' });
      await waitFor(async () => (await a.get(id))?.state === 'failed', { what: 'failed' });
      await sleep(300);
      assert.deepEqual(outcomes.map((o) => o.state), ['failed']);
      const info = await a.get(id);
      assert.equal(info?.attempts, 1);
      assert.match(info?.error ?? '', /SWY_FILE_CORRUPT: not a PDF/);
    });

    it('fails after maxRetries + 1 attempts of a transient error', async () => {
      const { a } = await open({ maxRetries: 1 });
      const outcomes: Outcomes = [];
      a.process(async () => {
        throw new Error('flaky');
      }, { concurrency: 1, onOutcome: collect(outcomes) });
      const { id } = await a.enqueue({ fileId: 'f5', userId: 'u1' });
      await waitFor(async () => (await a.get(id))?.state === 'failed', { what: 'failed', timeoutMs: 10_000 });
      assert.deepEqual(outcomes.map((o) => o.state), ['deferred', 'failed']);
      assert.equal((await a.get(id))?.attempts, 2);
    });

    it('aborts an attempt over its timeout (the signal fires) and retries it', async () => {
      const { a } = await open({ timeoutMs: 300 });
      const outcomes: Outcomes = [];
      let abortReason: unknown = null;
      a.process(async (job) => {
        if (job.attempt > 1) return;
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
        abortReason = job.signal.reason;
      }, { concurrency: 1, onOutcome: collect(outcomes) });
      const { id } = await a.enqueue({ fileId: 'f6', userId: 'u1' });
      await waitFor(async () => (await a.get(id))?.state === 'finished', { what: 'finished', timeoutMs: 10_000 });
      assert.ok(abortReason instanceof JobTimeoutError);
      assert.deepEqual(outcomes.map((o) => o.state), ['deferred', 'finished']);
      assert.match((outcomes[0] as { error: string }).error, /SWY_JOB_TIMEOUT/);
    });

    it('cancels a waiting job (it never runs) and a running job from the other instance', async () => {
      const { a, b } = await open();
      const waiting = await a.enqueue({ fileId: 'w1', userId: 'u1' });
      assert.equal(await b.cancel(waiting.id), true);
      const state = (await a.get(waiting.id))?.state ?? null;
      assert.ok(state === null || state === 'canceled', `state after cancel: ${state}`);

      const outcomes: Outcomes = [];
      const ran: string[] = [];
      let sawAbort = false;
      a.process(async (job) => {
        ran.push(job.data.fileId);
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
        sawAbort = true;
      }, { concurrency: 1, onOutcome: collect(outcomes) });
      const running = await a.enqueue({ fileId: 'r1', userId: 'u1' });
      await waitFor(async () => (await b.get(running.id))?.state === 'started', { what: 'started' });
      assert.equal(await b.cancel(running.id), true);
      await waitFor(async () => (await b.get(running.id))?.state === 'canceled', { what: 'canceled', timeoutMs: 5_000 });
      assert.equal(sawAbort, true);
      assert.deepEqual(ran, ['r1']);
      assert.deepEqual(outcomes.map((o) => o.state), ['canceled']);
      assert.equal(await b.cancel(running.id), false, 'a finished cancel has nothing left to cancel');
    });

    it('recovers a job held by a dead worker and counts the lost attempt', async () => {
      const { a, b } = await open({ leaseMs: 800 });
      const outcomes: Outcomes = [];
      const dead = a.process(async (job) => {
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
      }, { concurrency: 1 });
      const { id } = await a.enqueue({ fileId: 'st1', userId: 'u1' });
      await waitFor(async () => (await a.get(id))?.state === 'started', { what: 'started' });
      await dead.close({ abandon: true });
      b.process(async () => {}, { concurrency: 1, onOutcome: collect(outcomes) });
      await waitFor(async () => (await b.get(id))?.state === 'finished', { what: 'recovered and finished', timeoutMs: 10_000 });
      assert.deepEqual(outcomes.map((o) => [o.attempt, o.state]), [[2, 'finished']]);
    });

    it('a dead worker\'s lost attempt counts against the same retry limit', async () => {
      const { a, b } = await open({ leaseMs: 800, maxRetries: 0 });
      const outcomes: Outcomes = [];
      const dead = a.process(async (job) => {
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
      }, { concurrency: 1 });
      const { id } = await a.enqueue({ fileId: 'st2', userId: 'u1' });
      await waitFor(async () => (await a.get(id))?.state === 'started', { what: 'started' });
      await dead.close({ abandon: true });
      b.process(async () => {}, { concurrency: 1, onOutcome: collect(outcomes) });
      await waitFor(async () => (await b.get(id))?.state === 'failed', { what: 'failed after the stall', timeoutMs: 10_000 });
      assert.equal(outcomes.length, 1);
      assert.match((outcomes[0] as { error: string }).error, /SWY_JOB_STALLED/);
    });

    it('replaceTerminal re-enqueues a failed job; without it the enqueue stays a no-op', async () => {
      const { a } = await open({ maxRetries: 0 });
      let fail = true;
      a.process(async () => {
        if (fail) throw new PermanentJobError(ErrorCode.FILE_CORRUPT, 'bad');
      }, { concurrency: 1 });
      const { id } = await a.enqueue({ fileId: 'rt', userId: 'u1' });
      await waitFor(async () => (await a.get(id))?.state === 'failed', { what: 'failed' });
      assert.equal((await a.enqueue({ fileId: 'rt', userId: 'u1' })).created, false);
      fail = false;
      assert.equal((await a.enqueue({ fileId: 'rt', userId: 'u1' }, { replaceTerminal: true })).created, true);
      await waitFor(async () => (await a.get(id))?.state === 'finished', { what: 'finished after re-enqueue' });
    });

    it('drops finished and failed records after their TTLs', async () => {
      const { a } = await open({ resultTtlMs: 1_000, failureTtlMs: 1_000, maxRetries: 0 });
      a.process(async (job) => {
        if (job.data.fileId.startsWith('ttl-bad')) throw new PermanentJobError(ErrorCode.FILE_CORRUPT, 'bad');
      }, { concurrency: 1 });
      const ok = await a.enqueue({ fileId: 'ttl-ok', userId: 'u1' });
      const bad = await a.enqueue({ fileId: 'ttl-bad', userId: 'u1' });
      await waitFor(async () => (await a.get(bad.id))?.state === 'failed', { what: 'failed' });
      assert.equal((await a.get(ok.id))?.state, 'finished');
      await sleep(2_100);
      // BullMQ prunes by age when later jobs settle: settle one more of each kind.
      const later = await a.enqueue({ fileId: 'ttl-later', userId: 'u1' });
      const laterBad = await a.enqueue({ fileId: 'ttl-bad-2', userId: 'u1' });
      await waitFor(async () => (await a.get(later.id))?.state === 'finished', { what: 'later finished' });
      await waitFor(async () => (await a.get(laterBad.id))?.state === 'failed', { what: 'later failed' });
      await waitFor(async () => (await a.get(ok.id)) === null, { what: 'finished record expired', timeoutMs: 5_000 });
      await waitFor(async () => (await a.get(bad.id)) === null, { what: 'failed record expired', timeoutMs: 5_000 });
    });
  });
}
