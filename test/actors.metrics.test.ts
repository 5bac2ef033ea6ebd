import './helpers/guard.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ActorSystem } from '../src/actors/index.js';
import { TURN_TIMING_SAMPLE } from '../src/actors/Mailbox.js';
import { waitFor } from './helpers/wait.js';

function valueOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `missing series ${series} in\n${text}`);
  return Number(line.slice(series.length + 1));
}

test('actor metrics appear in the prom-client registry and match stats()', async () => {
  const registry = new Registry();
  const system = new ActorSystem({ registry });
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  system.register<string>('room', () => ({
    receive(msg) {
      if (msg === 'boom') throw new Error('boom');
      if (msg === 'block') return blocked;
    },
  }), { mailboxCapacity: 3, restart: { minBackoffMs: 1, maxBackoffMs: 2 } });

  for (const k of ['a', 'b', 'c']) system.tell('room', k, 'hi');
  system.tell('room', 'a', 'boom');
  system.tell('room', 'b', 'block');
  await waitFor(() => system.stats().mailboxDepth === 0); // 'block' is in flight
  for (const q of ['q1', 'q2', 'q3']) system.tell('room', 'b', q);
  assert.throws(() => system.tell('room', 'b', 'overflow'));
  await waitFor(() => system.stats().kinds.room!.restarts === 1 && system.stats().kinds.room!.turns === 4);

  const text = await registry.metrics();
  assert.equal(valueOf(text, 'switchyard_actors_active{kind="room"}'), 3);
  assert.equal(valueOf(text, 'switchyard_actor_mailbox_depth{kind="room"}'), 3);
  assert.equal(valueOf(text, 'switchyard_actor_activations_total{kind="room"}'), 3);
  assert.equal(valueOf(text, 'switchyard_actor_restarts_total{kind="room"}'), 1);
  assert.equal(valueOf(text, 'switchyard_actor_escalations_total{kind="room"}'), 0);
  assert.equal(valueOf(text, 'switchyard_actor_passivations_total{kind="room"}'), 0);
  assert.equal(valueOf(text, 'switchyard_dead_letters_total{reason="mailbox-full"}'), 1);
  const turns = valueOf(text, 'switchyard_actor_turns_total{kind="room"}');
  assert.equal(turns, 4);
  // Durations are sampled (the first turn of each actor is always timed), counts weighted.
  const timed = valueOf(text, 'switchyard_actor_turn_seconds_count{kind="room"}');
  assert.equal(timed, 3 * TURN_TIMING_SAMPLE, 'one timed turn per actor so far');
  assert.equal(valueOf(text, 'switchyard_actor_turn_seconds_bucket{le="+Inf",kind="room"}'), timed);
  assert.ok(valueOf(text, 'switchyard_actor_turn_seconds_bucket{le="0.0001",kind="room"}') <= timed);
  assert.ok(valueOf(text, 'switchyard_actor_turn_seconds_sum{kind="room"}') > 0);
  assert.match(text, /# TYPE switchyard_actor_turn_seconds histogram/);

  const stats = system.stats();
  assert.equal(stats.kinds.room!.turns, turns);
  assert.deepEqual(
    [stats.active, stats.mailboxDepth, stats.kinds.room!.activations, stats.deadLetters.byReason['mailbox-full']],
    [3, 3, 3, 1],
  );
  release();
  await system.shutdown(1000);
  const after = await registry.metrics();
  assert.equal(valueOf(after, 'switchyard_actors_active{kind="room"}'), 0);
  assert.equal(valueOf(after, 'switchyard_actor_mailbox_depth{kind="room"}'), 0);
});
