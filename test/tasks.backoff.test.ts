import './helpers/guard.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryLoop, backoffMs } from '../src/tasks/backoff.js';
import { waitFor } from './helpers/wait.js';

/** The one backoff/retry helper of src/tasks (registry removals, re-registration, the stop courier, completion retries). */
describe('task backoff and retry loop', () => {
  it('backoffMs doubles from minMs, caps at maxMs, and jitters to 50–100 % when given a random source', () => {
    const b = { minMs: 10, maxMs: 70 };
    assert.deepEqual([0, 1, 2, 3, 4, 50].map((a) => backoffMs(a, b)), [10, 20, 40, 70, 70, 70]);
    assert.equal(backoffMs(2, b, () => 0), 20);
    assert.equal(backoffMs(2, b, () => 0.999_999), 40);
  });

  it('retries a failing job with doubling delays until it succeeds; a false and a rejection both mean again', async () => {
    const loop = new RetryLoop({ minMs: 1, maxMs: 4 });
    const delays: number[] = [];
    const errors: unknown[] = [];
    let tries = 0;
    loop.schedule('k', {
      attempt: async () => {
        tries += 1;
        if (tries === 2) throw new Error('backend down');
        return tries >= 5;
      },
      onRetry: (err, delayMs) => {
        errors.push(err === undefined ? 'false' : (err as Error).message);
        delays.push(delayMs);
      },
    });
    assert.ok(loop.has('k'));
    await waitFor(() => !loop.has('k'), { what: 'the job to succeed' });
    assert.equal(tries, 5);
    // Scheduled after the caller's own failed try: the retries continue the doubling from there.
    assert.deepEqual(delays, [2, 4, 4, 4]);
    assert.deepEqual(errors, ['false', 'backend down', 'false', 'false']);
    loop.close();
  });

  it('gives up at the deadline, a re-schedule replaces the pending job, cancel and close stop everything', async () => {
    const loop = new RetryLoop({ minMs: 1, maxMs: 2 });
    let gaveUp = false;
    let tries = 0;
    loop.schedule('late', { attempt: async () => (tries++, false), deadline: Date.now() + 30, onGiveUp: () => (gaveUp = true) });
    await waitFor(() => gaveUp, { what: 'give up' });
    assert.ok(tries >= 1 && !loop.has('late'));

    const ran: string[] = [];
    loop.schedule('k', { attempt: async () => (ran.push('first'), true) });
    loop.schedule('k', { attempt: async () => (ran.push('second'), true) }, true);
    await waitFor(() => !loop.has('k'), { what: 'the replacement to run' });
    assert.deepEqual(ran, ['second']);

    let cancelledRan = false;
    loop.schedule('c', { attempt: async () => (cancelledRan = true) });
    loop.cancel('c');
    loop.close();
    loop.schedule('after-close', { attempt: async () => true }, true);
    assert.equal(loop.size, 0);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(cancelledRan, false);
  });

  it('drain gives every pending job one last try, then nothing runs again', async () => {
    const loop = new RetryLoop({ minMs: 60_000, maxMs: 60_000 });
    const tried: string[] = [];
    for (const key of ['a', 'b']) loop.schedule(key, { attempt: async () => (tried.push(key), false) });
    await loop.drain();
    assert.deepEqual(tried.sort(), ['a', 'b']);
    assert.equal(loop.size, 0);
  });
});
