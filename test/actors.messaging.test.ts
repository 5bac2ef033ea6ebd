import './helpers/guard.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { AskTimeoutError, ErrorCode, MailboxFullError, SwitchyardError } from '../src/errors.js';
import { ActorSystem, SelfAskError, type ActorContext, type DeadLetter } from '../src/actors/index.js';
import { sleep, waitFor } from './helpers/wait.js';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

test('1000 messages to one key are handled in send order', async () => {
  const system = new ActorSystem();
  const seen: number[] = [];
  system.register<number>('seq', () => ({
    async receive(n) {
      if (n % 7 === 0) await tick(); // some turns really are asynchronous
      seen.push(n);
    },
  }));
  const sent = Array.from({ length: 1000 }, (_, i) => i);
  for (const n of sent) system.tell('seq', 'a', n);
  await waitFor(() => seen.length === 1000, { what: '1000 handled' });
  assert.deepEqual(seen, sent);
  await system.shutdown(1000);
});

test('different keys are processed concurrently and interleave', async () => {
  const system = new ActorSystem();
  const log: string[] = [];
  system.register<number>('room', (key) => ({
    async receive(n) {
      await sleep(1);
      log.push(`${key}${n}`);
    },
  }));
  for (let i = 0; i < 20; i++) {
    system.tell('room', 'a', i);
    system.tell('room', 'b', i);
  }
  await waitFor(() => log.length === 40);
  const lastA = log.lastIndexOf('a19');
  const firstB = log.indexOf('b0');
  assert.ok(firstB < lastA, `b should start before a finishes: ${log.join(',')}`);
  assert.deepEqual(log.filter((s) => s.startsWith('a')), Array.from({ length: 20 }, (_, i) => `a${i}`));
  await system.shutdown(1000);
});

test('turns never overlap per key (no reentrancy), while keys run in parallel', async () => {
  const system = new ActorSystem();
  const inFlight = new Map<string, number>();
  let maxPerKey = 0;
  let total = 0;
  let maxTotal = 0;
  system.register<string>('worker', (key) => ({
    async receive() {
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      total++;
      maxPerKey = Math.max(maxPerKey, inFlight.get(key)!);
      maxTotal = Math.max(maxTotal, total);
      await sleep(2);
      inFlight.set(key, inFlight.get(key)! - 1);
      total--;
    },
  }));
  const asks: Promise<unknown>[] = [];
  for (let i = 0; i < 10; i++) for (const k of ['x', 'y', 'z']) asks.push(system.ask('worker', k, 'go'));
  await Promise.all(asks);
  assert.equal(maxPerKey, 1);
  assert.ok(maxTotal > 1, 'the counter must be able to see concurrency across keys');
  await system.shutdown(1000);
});

test('ask resolves with the handler result, sync or async', async () => {
  const system = new ActorSystem();
  system.register<number, number>('math', (key) => ({
    receive(n) {
      return key === 'async' ? sleep(1).then(() => n * 2) : n + 1;
    },
  }));
  const inputs = [3, 10, 41];
  assert.deepEqual(await Promise.all(inputs.map((n) => system.ask('math', 'async', n))), inputs.map((n) => n * 2));
  assert.deepEqual(await Promise.all(inputs.map((n) => system.ask('math', 'sync', n))), inputs.map((n) => n + 1));
  await system.shutdown(1000);
});

test('ask timeout rejects with AskTimeoutError; the late reply becomes a dead letter', async () => {
  const system = new ActorSystem();
  const letters: DeadLetter[] = [];
  system.deadLetters.subscribe((l) => letters.push(l));
  system.register<number, string>('slow', () => ({
    async receive(n) {
      await sleep(120);
      return `late-${n}`;
    },
  }));
  const started = Date.now();
  const err = await system.ask('slow', 's1', 7, 30).then(
    () => assert.fail('expected a timeout'),
    (e: unknown) => e,
  );
  const elapsed = Date.now() - started;
  assert.ok(err instanceof AskTimeoutError);
  assert.equal(err.code, ErrorCode.ASK_TIMEOUT);
  assert.ok(elapsed >= 25 && elapsed < 110, `timed out after ${elapsed} ms`);
  await waitFor(() => letters.find((l) => l.reason === 'ask-timeout'), { what: 'ask-timeout dead letter' });
  assert.deepEqual(letters.map((l) => [l.ref, l.message, l.reason]), [['slow:s1', 'late-7', 'ask-timeout']]);
  await system.shutdown(1000);
});

test('an actor asking itself is rejected at once instead of deadlocking', async () => {
  const system = new ActorSystem();
  system.register<string, string>('narcissus', () => ({
    async receive(msg, ctx: ActorContext<string>) {
      if (msg === 'echo') return 'echo';
      try {
        return await ctx.ask<string>(ctx.self, 'echo', 1_000);
      } catch (err) {
        return err instanceof SelfAskError ? `refused:${err.code}` : 'other';
      }
    },
  }));
  const started = Date.now();
  assert.equal(await system.ask('narcissus', 'n', 'ask-self'), `refused:${ErrorCode.ACTOR_SELF_ASK}`);
  assert.ok(Date.now() - started < 500, 'must fail fast, not wait for the ask timeout');
  assert.equal(await system.ask('narcissus', 'n', 'echo'), 'echo', 'the actor keeps working');
  await system.shutdown(1000);
});

test('actors talk to each other with tell and ask through the context', async () => {
  const system = new ActorSystem();
  const got: string[] = [];
  system.register<number, number>('square', () => ({ receive: (n) => n * n }));
  system.register<number>('client', () => ({
    async receive(n, ctx) {
      const sq = await ctx.ask<number>({ kind: 'square', key: 'one' }, n);
      ctx.tell({ kind: 'sink', key: 's' }, `${n}^2=${sq}`);
    },
  }));
  system.register<string>('sink', () => ({ receive: (s) => void got.push(s) }));
  system.tell('client', 'c', 3);
  system.tell('client', 'c', 5);
  await waitFor(() => got.length === 2);
  assert.deepEqual(got, ['3^2=9', '5^2=25']);
  await system.shutdown(1000);
});

test("overflow 'reject': tell throws MailboxFullError synchronously, ask rejects, nothing queued is lost", async () => {
  const system = new ActorSystem();
  const g = gate();
  const handled: number[] = [];
  system.register<number>('tight', () => ({
    async receive(n) {
      await g.wait;
      handled.push(n);
    },
  }), { mailboxCapacity: 3, overflow: 'reject' });
  system.tell('tight', 'k', 1);
  system.tell('tight', 'k', 2);
  system.tell('tight', 'k', 3);
  assert.throws(() => system.tell('tight', 'k', 4), (e: unknown) => e instanceof MailboxFullError && e.capacity === 3);
  await assert.rejects(system.ask('tight', 'k', 5), MailboxFullError);
  assert.deepEqual(system.deadLetters.countsByReason(), { 'mailbox-full': 2 });
  g.open();
  await waitFor(() => handled.length === 3);
  assert.deepEqual(handled, [1, 2, 3]);
  system.tell('tight', 'k', 6); // room again
  await waitFor(() => handled.length === 4);
  await system.shutdown(1000);
});

test("overflow 'drop-oldest': the oldest queued messages go to dead letters", async () => {
  const system = new ActorSystem();
  const g = gate();
  const handled: number[] = [];
  const letters: DeadLetter[] = [];
  system.deadLetters.subscribe((l) => letters.push(l));
  system.register<number>('cursor', () => ({
    async receive(n) {
      await g.wait;
      handled.push(n);
    },
  }), { mailboxCapacity: 3, overflow: 'drop-oldest' });
  for (let n = 1; n <= 5; n++) system.tell('cursor', 'c', n);
  assert.deepEqual(letters.map((l) => [l.ref, l.message, l.reason]), [['cursor:c', 1, 'dropped-oldest'], ['cursor:c', 2, 'dropped-oldest']]);
  g.open();
  await waitFor(() => handled.length === 3);
  assert.deepEqual(handled, [3, 4, 5]);
  await system.shutdown(1000);
});

test('unknown kinds and invalid options fail with coded errors naming the problem', () => {
  const system = new ActorSystem();
  assert.throws(() => system.tell('nope', 'k', 1), (e: unknown) => e instanceof SwitchyardError && e.code === ErrorCode.UNKNOWN_ACTOR_KIND);
  assert.throws(
    () => system.register('bad', () => ({ receive() {} }), { mailboxCapacity: 0 }),
    (e: unknown) => e instanceof SwitchyardError && e.code === ErrorCode.CONFIG_INVALID && /mailboxCapacity = 0/.test(e.message),
  );
  assert.throws(
    () => system.register('bad2', () => ({ receive() {} }), { restart: { minBackoffMs: 500, maxBackoffMs: 100 } }),
    /restart\.maxBackoffMs = 100 must be an integer >= minBackoffMs \(500\)/,
  );
  system.register('ok', () => ({ receive() {} }));
  assert.throws(() => system.register('ok', () => ({ receive() {} })), /already registered/);
});
