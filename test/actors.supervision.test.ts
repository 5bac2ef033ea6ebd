import './helpers/guard.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem, backoffDelay, DEFAULT_KIND_OPTIONS, type DeadLetter, type Escalation, type StopReason } from '../src/actors/index.js';
import { waitFor } from './helpers/wait.js';

type Cmd = 'inc' | 'get' | 'boom';

/** A counter whose state lives in the incarnation, so a restart visibly resets it. */
function counterKind(events: string[]) {
  return () => {
    let count = 0;
    return {
      onStart() {
        events.push('start');
      },
      onStop(_ctx: unknown, reason: StopReason) {
        events.push(`stop:${reason}`);
      },
      receive(cmd: Cmd) {
        if (cmd === 'boom') throw new Error('boom');
        if (cmd === 'inc') count++;
        return count;
      },
    };
  };
}

test('backoff grows exponentially with bounded jitter', () => {
  const policy = { minBackoffMs: 100, maxBackoffMs: 1_000, maxRestarts: 5, withinMs: 60_000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy, () => 0)), [100, 200, 400, 800, 1000]);
  assert.deepEqual([1, 2, 3].map((a) => backoffDelay(a, policy, () => 0.999)), [150, 300, 600]);
  assert.equal(backoffDelay(10, policy, () => 0.999), 1000);
  assert.equal(DEFAULT_KIND_OPTIONS.restart.minBackoffMs, 100);
});

test('a crash rejects the failing ask, restarts after backoff with fresh state, keeps queued messages', async () => {
  const system = new ActorSystem();
  const events: string[] = [];
  system.register<Cmd, number>('counter', counterKind(events), { restart: { minBackoffMs: 80, maxBackoffMs: 200 } });
  system.tell('counter', 'c', 'inc');
  system.tell('counter', 'c', 'inc');
  assert.equal(await system.ask('counter', 'c', 'get'), 2);

  const crashedAt = Date.now();
  const failed = system.ask('counter', 'c', 'boom');
  const afterRestart = system.ask('counter', 'c', 'inc'); // queued behind the crash
  await assert.rejects(failed, /boom/);
  assert.equal(await afterRestart, 1, 'state starts over in the new incarnation');
  const waited = Date.now() - crashedAt;
  assert.ok(waited >= 75, `restart waited only ${waited} ms`);
  assert.deepEqual(events, ['start', 'stop:restart', 'start']);
  assert.equal(system.stats().kinds.counter!.restarts, 1);
  assert.ok(system.has('counter', 'c'));
  await system.shutdown(1000);
});

test('more than maxRestarts crashes within the window escalate: stopped, reported, queue dead-lettered', async () => {
  const system = new ActorSystem();
  const events: string[] = [];
  const escalations: Escalation[] = [];
  const letters: DeadLetter[] = [];
  system.escalations.subscribe((e) => escalations.push(e));
  system.deadLetters.subscribe((l) => letters.push(l));
  system.register<Cmd, number>('fragile', counterKind(events), { restart: { minBackoffMs: 5, maxBackoffMs: 20, maxRestarts: 2, withinMs: 5_000 } });
  for (const cmd of ['boom', 'boom', 'boom', 'inc', 'get'] as const) system.tell('fragile', 'f', cmd);

  await waitFor(() => escalations.length === 1, { what: 'escalation' });
  assert.equal(escalations[0]!.ref, 'fragile:f');
  assert.equal(escalations[0]!.supervisor, 'root');
  assert.equal(escalations[0]!.restarts, 2);
  assert.match(String(escalations[0]!.error), /boom/);
  assert.deepEqual(events, ['start', 'stop:restart', 'start', 'stop:restart', 'start', 'stop:escalated']);
  assert.deepEqual(letters.map((l) => [l.message, l.reason]), [['inc', 'escalated'], ['get', 'escalated']]);
  assert.equal(system.has('fragile', 'f'), false);
  const stats = system.stats().kinds.fragile!;
  assert.deepEqual([stats.restarts, stats.escalations, stats.active], [2, 1, 0]);

  // Virtual actor: the next message brings a fresh incarnation.
  assert.equal(await system.ask('fragile', 'f', 'inc'), 1);
  await system.shutdown(1000);
});

test('crashes spread wider than withinMs never escalate', async () => {
  let t = 0;
  const system = new ActorSystem({ now: () => t });
  const escalations: Escalation[] = [];
  system.escalations.subscribe((e) => escalations.push(e));
  system.register<Cmd, number>('slowburn', counterKind([]), { restart: { minBackoffMs: 1, maxBackoffMs: 5, maxRestarts: 1, withinMs: 1_000 } });
  for (let i = 0; i < 4; i++) {
    t += 2_000; // each crash falls outside the previous one's window
    await assert.rejects(system.ask('slowburn', 's', 'boom'), /boom/);
  }
  assert.equal(await system.ask('slowburn', 's', 'get'), 0);
  assert.equal(escalations.length, 0);
  assert.equal(system.stats().kinds.slowburn!.restarts, 4);
  await system.shutdown(1000);
});

test('an error in onStart counts as a crash and escalates when it keeps happening', async () => {
  const system = new ActorSystem();
  let starts = 0;
  const escalations: Escalation[] = [];
  system.escalations.subscribe((e) => escalations.push(e));
  system.register<string>('broken', () => ({
    onStart() {
      starts++;
      throw new Error('cannot start');
    },
    receive() {},
  }), { restart: { minBackoffMs: 1, maxBackoffMs: 5, maxRestarts: 3, withinMs: 10_000 } });
  const pending = system.ask('broken', 'b', 'hello');
  await assert.rejects(pending, /escalated/);
  await waitFor(() => escalations.length === 1);
  assert.equal(starts, 4);
  assert.deepEqual(system.deadLetters.countsByReason(), { escalated: 1 });
  await system.shutdown(1000);
});

test('a child escalates to its parent actor, and stops with its parent', async () => {
  const system = new ActorSystem();
  const escalations: Escalation[] = [];
  const childStops: StopReason[] = [];
  system.escalations.subscribe((e) => escalations.push(e));
  system.register<string>('parent', () => ({
    receive(msg, ctx) {
      const child = ctx.spawnChild('child', `${ctx.self.key}-kid`);
      ctx.tell(child, msg);
    },
  }));
  system.register<string>('child', () => ({
    receive(msg, ctx) {
      assert.equal(ctx.parent?.id, 'parent:p');
      if (msg === 'boom') throw new Error('child boom');
    },
    onStop(_ctx, reason) {
      childStops.push(reason);
    },
  }), { restart: { minBackoffMs: 1, maxBackoffMs: 5, maxRestarts: 1, withinMs: 10_000 } });

  system.tell('parent', 'p', 'boom');
  system.tell('parent', 'p', 'boom');
  await waitFor(() => escalations.length === 1, { what: 'child escalation' });
  assert.equal(escalations[0]!.ref, 'child:p-kid');
  assert.equal(escalations[0]!.supervisor, 'parent:p');
  assert.equal(system.has('parent', 'p'), true, 'the parent survives its child');

  system.tell('parent', 'p', 'hi'); // a new child incarnation under the same parent
  await waitFor(() => system.has('child', 'p-kid'));
  await system.stop('parent', 'p');
  assert.equal(system.has('child', 'p-kid'), false);
  assert.deepEqual(childStops, ['restart', 'escalated', 'parent-stopped']);
  await system.shutdown(1000);
});
