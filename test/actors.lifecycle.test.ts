import './helpers/guard.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActorStoppedError, ErrorCode } from '../src/errors.js';
import { ActorSystem, type DeadLetter, type StopReason } from '../src/actors/index.js';
import { sleep, waitFor } from './helpers/wait.js';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

test('activation on first message awaits onStart before the first turn', async () => {
  const system = new ActorSystem();
  const order: string[] = [];
  system.register<string>('lazy', (key) => {
    order.push(`factory:${key}`);
    return {
      async onStart() {
        await sleep(20);
        order.push('started');
      },
      receive(msg) {
        order.push(`msg:${msg}`);
      },
    };
  });
  assert.equal(system.has('lazy', 'l'), false);
  assert.equal(system.activeCount(), 0);
  system.tell('lazy', 'l', 'a');
  system.tell('lazy', 'l', 'b');
  assert.equal(system.has('lazy', 'l'), true);
  assert.equal(system.activeCount(), 1);
  await waitFor(() => order.length === 4);
  assert.deepEqual(order, ['factory:l', 'started', 'msg:a', 'msg:b']);
  await system.shutdown(1000);
});

test('idle actors passivate (onStop "passivated") and the next message reactivates them fresh', async () => {
  const system = new ActorSystem();
  const stops: StopReason[] = [];
  const signals: AbortSignal[] = [];
  system.register<'inc' | 'get', number>('session', () => {
    let n = 0;
    return {
      receive(cmd, ctx) {
        signals.push(ctx.signal);
        if (cmd === 'inc') n++;
        return n;
      },
      onStop(_ctx, reason) {
        stops.push(reason);
      },
    };
  }, { idleTimeoutMs: 60 });
  system.tell('session', 's', 'inc');
  assert.equal(await system.ask('session', 's', 'inc'), 2);
  const idleSince = Date.now();
  await waitFor(() => !system.has('session', 's'), { what: 'passivation', timeoutMs: 2_000, intervalMs: 5 });
  assert.ok(Date.now() - idleSince >= 55, 'not before idleTimeoutMs');
  assert.deepEqual(stops, ['passivated']);
  assert.equal(signals[0]!.aborted, true, 'the incarnation signal is aborted on stop');
  assert.equal(system.activeCount(), 0);

  assert.equal(await system.ask('session', 's', 'get'), 0, 'fresh state after reactivation');
  const s = system.stats().kinds.session!;
  assert.deepEqual([s.activations, s.passivations, s.active], [2, 1, 1]);
  await system.shutdown(1000);
});

test('messages keep an actor active; idleTimeoutMs 0 never passivates', async () => {
  const system = new ActorSystem();
  system.register<string>('busy', () => ({ receive() {} }), { idleTimeoutMs: 50 });
  system.register<string>('forever', () => ({ receive() {} }), { idleTimeoutMs: 0 });
  system.tell('forever', 'f', 'x');
  for (let i = 0; i < 8; i++) {
    system.tell('busy', 'b', 'ping');
    await sleep(15);
  }
  assert.equal(system.has('busy', 'b'), true, 'pinged every 15 ms, never idle for 50 ms');
  await waitFor(() => !system.has('busy', 'b'), { timeoutMs: 1_000 });
  assert.equal(system.has('forever', 'f'), true);
  await system.shutdown(1000);
});

test('schedule delivers to self later, can be cancelled, and is cleared when the actor stops', async () => {
  const system = new ActorSystem();
  const got: string[] = [];
  system.register<string>('timer', () => ({
    receive(msg, ctx) {
      got.push(msg);
      if (msg === 'start') {
        ctx.schedule(20, 'tick');
        const cancel = ctx.schedule(20, 'cancelled');
        cancel();
        ctx.schedule(80, 'after-stop');
      }
    },
  }));
  system.tell('timer', 't', 'start');
  await waitFor(() => got.includes('tick'));
  await system.stop('timer', 't');
  await sleep(100);
  assert.deepEqual(got, ['start', 'tick']);
  assert.equal(system.has('timer', 't'), false);
  await system.shutdown(1000);
});

test('stop waits for the current turn, dead-letters the queue and rejects queued asks', async () => {
  const system = new ActorSystem();
  const g = gate();
  const letters: DeadLetter[] = [];
  const unsubscribe = system.deadLetters.subscribe((l) => letters.push(l));
  let finished = 0;
  system.register<number, number>('job', () => ({
    async receive(n) {
      await g.wait;
      finished++;
      return n;
    },
  }));
  const first = system.ask('job', 'j', 1);
  system.tell('job', 'j', 2);
  const third = system.ask('job', 'j', 3);
  await sleep(5); // first turn in flight
  const stopped = system.stop('job', 'j');
  assert.equal(system.has('job', 'j'), false, 'stopping actors are no longer active');
  g.open();
  await stopped;
  assert.equal(await first, 1, 'the in-flight turn completes');
  await assert.rejects(third, (e: unknown) => e instanceof ActorStoppedError && e.code === ErrorCode.ACTOR_STOPPED);
  assert.equal(finished, 1);
  assert.deepEqual(letters.map((l) => [l.ref, l.message, l.reason]), [['job:j', 2, 'stopped'], ['job:j', 3, 'stopped']]);
  unsubscribe();
  assert.equal(await system.ask('job', 'j', 4), 4, 'a stopped actor reactivates on its next message');
  await system.stop('job', 'j');
  assert.equal(letters.length, 2, 'unsubscribed listener hears nothing more');
  assert.equal(system.deadLetters.count, 2);
  await system.shutdown(1000);
});

test('dead letters keep a bounded recent buffer and counts per reason', async () => {
  const system = new ActorSystem({ deadLetterBuffer: 3, now: () => 1234 });
  const g = gate();
  system.register<number>('drop', () => ({ receive: () => g.wait }), { mailboxCapacity: 1, overflow: 'drop-oldest' });
  for (let i = 0; i < 7; i++) system.tell('drop', 'd', i); // all queued before the first turn can start
  assert.deepEqual(system.deadLetters.recent().map((l) => [l.message, l.at]), [[3, 1234], [4, 1234], [5, 1234]]);
  assert.deepEqual(system.deadLetters.countsByReason(), { 'dropped-oldest': 6 });
  g.open();
  await system.shutdown(1000);
});

test('shutdown drains mailboxes, calls onStop, then refuses new messages', async () => {
  const system = new ActorSystem();
  const handled: number[] = [];
  const stops: string[] = [];
  system.register<number>('drain', (key) => ({
    async receive(n) {
      await sleep(1);
      handled.push(n);
    },
    onStop(_ctx, reason) {
      stops.push(`${key}:${reason}`);
    },
  }));
  for (let i = 0; i < 20; i++) system.tell('drain', String(i % 2), i);
  const report = await system.shutdown(2_000);
  assert.deepEqual(report, { drained: true, stopped: 2, deadLettered: 0 });
  assert.deepEqual([...handled].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  assert.deepEqual(stops.sort(), ['0:shutdown', '1:shutdown']);
  assert.equal(system.activeCount(), 0);
  assert.throws(() => system.tell('drain', '0', 99), (e: unknown) => e instanceof ActorStoppedError && /shutting-down/.test(e.message));
  await assert.rejects(system.ask('drain', '0', 99), /shutting-down/);
});

test('shutdown past its deadline dead-letters what is left', async () => {
  const system = new ActorSystem();
  const g = gate();
  const letters: DeadLetter[] = [];
  system.deadLetters.subscribe((l) => letters.push(l));
  system.register<number>('stuck', () => ({ receive: () => g.wait }));
  for (let i = 0; i < 4; i++) system.tell('stuck', 's', i);
  const started = Date.now();
  const report = await system.shutdown(50);
  assert.ok(Date.now() - started < 1_000);
  assert.equal(report.drained, false);
  assert.equal(report.deadLettered, 3);
  assert.deepEqual(letters.map((l) => [l.message, l.reason]), [[1, 'shutting-down'], [2, 'shutting-down'], [3, 'shutting-down']]);
  g.open();
});
