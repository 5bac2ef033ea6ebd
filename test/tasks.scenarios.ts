import assert from 'node:assert/strict';
import { ErrorCode } from '../src/errors.js';
import type { Runtime } from '../src/runtime.js';
import type { TaskExit } from '../src/tasks/index.js';
import { sleep, waitFor } from './helpers/wait.js';
import { api, recordExits, type ApiReply } from './tasks.fixtures.js';

/**
 * Attacks on task ownership and the per-user limit, written once and run on the
 * memory backend (one instance plays both sides) and on Redis (alice's instance and
 * bob's instance are two runtimes sharing one Redis).
 */
export interface Sides {
  /** Where alice (the victim) creates, lists and stops. */
  readonly alice: Runtime;
  /** Where bob (the attacker) and the admin call. */
  readonly bob: Runtime;
}

/** Each runtime needs the `completion` kind pointed at a slow upstream and the test kind `wait` registered. */
const completion = (chat: string, n: number) => ({
  kind: 'completion',
  item_id: `chat:${chat}`,
  input: { messages: [{ role: 'user', content: `question ${n}` }] },
});

/** Every task exit on either side from now on (one runtime when both sides are the same). */
function exitsOf(sides: Sides): () => TaskExit[] {
  const lists = [...new Set([sides.alice, sides.bob])].map((r) => recordExits(r));
  return () => lists.flat();
}

const ok = (r: ApiReply, what: string) => assert.equal(r.status, 200, `${what}: ${JSON.stringify(r.body)}`);

/**
 * Alice creates completion tasks on chat R in a loop (and stops some of them herself)
 * while bob fires 200 concurrent stops of chat R and runs tasks of his own on R. None
 * of alice's tasks is ever cancelled except by alice; bob's stops only ever name bob's.
 */
export async function raceStopsAgainstCreates(sides: Sides, chat: string): Promise<void> {
  const all = exitsOf(sides);

  const bobOwn: string[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await api(sides.bob, 'POST', '/api/tasks', 'bob', { kind: 'wait', item_id: `chat:${chat}`, input: { ms: 300 } });
    ok(r, 'bob creates his own task on R');
    bobOwn.push(r.body.task_id);
  }

  const aliceIds: string[] = [];
  const stoppedByAlice = new Set<string>();
  const bobStops: Promise<ApiReply>[] = [];
  for (let i = 0; i < 25; i++) {
    // 8 stops per round, not awaited: 200 in all, landing before, during and after each create.
    for (let k = 0; k < 8; k++) bobStops.push(api(sides.bob, 'POST', `/api/tasks/chat/${chat}/stop`, 'bob'));
    const created = await api(sides.alice, 'POST', '/api/tasks', 'alice', completion(chat, i));
    ok(created, `alice's create #${i}`);
    aliceIds.push(created.body.task_id);
    if (i % 5 === 4) {
      const stop = await api(sides.alice, 'POST', `/api/tasks/stop/${created.body.task_id}`, 'alice');
      ok(stop, 'alice stops her own task');
      stoppedByAlice.add(created.body.task_id);
    }
    await sleep(5);
  }
  const replies = await Promise.all(bobStops);
  assert.equal(replies.length, 200);
  const bobStopped = new Set<string>();
  for (const r of replies) {
    ok(r, "bob's stop of chat R");
    for (const id of r.body.task_ids as string[]) bobStopped.add(id);
  }
  for (const id of aliceIds) assert.ok(!bobStopped.has(id), `bob's stop-all never names alice's task ${id}`);
  assert.ok([...bobStopped].every((id) => bobOwn.includes(id)), 'bob only ever stopped his own tasks');

  await waitFor(() => aliceIds.every((id) => all().some((e) => e.record.taskId === id)), { what: "every one of alice's tasks to end", timeoutMs: 20_000 });
  for (const id of aliceIds) {
    const ends = all().filter((e) => e.record.taskId === id);
    assert.equal(ends.length, 1, `task ${id} ended once`);
    const expected = stoppedByAlice.has(id) ? ['cancelled', 'completed'] : ['completed'];
    assert.ok(expected.includes(ends[0]!.status), `alice's task ${id} ended ${ends[0]!.status}${ends[0]!.error ? ` (${ends[0]!.error.code})` : ''}, expected ${expected.join(' or ')}`);
    assert.equal(ends[0]!.record.instanceId, sides.alice.instanceId, "alice's tasks ran on alice's instance");
  }
  assert.ok(all().filter((e) => aliceIds.includes(e.record.taskId) && e.status === 'completed').length >= 20, 'the tasks alice left alone completed');
  await waitFor(async () => (await sides.alice.coordination.tasks.listByItem(`chat:${chat}`)).length === 0, { what: 'chat R to be empty', timeoutMs: 10_000 });
}

/**
 * Bob squats chat S with a long task; alice's create, list and stop on S work as if he
 * were not there, and his task is untouched by them. An admin sees and stops both.
 */
export async function squatChangesNothing(sides: Sides, chat: string): Promise<void> {
  const all = exitsOf(sides);
  const endOf = (id: string) => all().find((e) => e.record.taskId === id);
  const path = `/api/tasks/chat/${chat}`;
  const squat = await api(sides.bob, 'POST', '/api/tasks', 'bob', { kind: 'wait', item_id: `chat:${chat}` });
  ok(squat, 'bob squats');
  const bobTask: string = squat.body.task_id;

  const first = await api(sides.alice, 'POST', '/api/tasks', 'alice', { kind: 'wait', item_id: `chat:${chat}` });
  ok(first, 'alice creates on the squatted chat');
  const aliceTask: string = first.body.task_id;
  assert.deepEqual((await api(sides.alice, 'GET', path, 'alice')).body, { task_ids: [aliceTask] }, 'alice lists only hers');
  assert.deepEqual((await api(sides.bob, 'GET', path, 'bob')).body, { task_ids: [bobTask] }, 'bob lists only his');
  const stopAll = await api(sides.alice, 'POST', `${path}/stop`, 'alice');
  ok(stopAll, "alice's stop-all");
  assert.deepEqual(stopAll.body.task_ids, [aliceTask], "alice's stop-all stops hers and only hers");
  await waitFor(() => endOf(aliceTask), { what: "alice's task to end" });
  assert.equal(endOf(aliceTask)!.status, 'cancelled');
  assert.ok(await sides.bob.tasks.find(bobTask), "bob's task still runs after alice's stop-all");

  const second = await api(sides.alice, 'POST', '/api/tasks', 'alice', { kind: 'wait', item_id: `chat:${chat}` });
  ok(second, "alice's second create");
  const byId = await api(sides.alice, 'POST', `/api/tasks/stop/${second.body.task_id}`, 'alice');
  ok(byId, 'alice stops by id');
  const third = await api(sides.alice, 'POST', '/api/tasks', 'alice', { kind: 'wait', item_id: `chat:${chat}` });
  ok(third, "alice's third create");
  const bobTries = await api(sides.bob, 'POST', `/api/tasks/stop/${third.body.task_id}`, 'bob');
  assert.deepEqual({ status: bobTries.status, code: bobTries.body.error?.code }, { status: 403, code: ErrorCode.FORBIDDEN }, 'bob cannot stop it by id');

  // The admin (on bob's instance) sees both owners' tasks of S and stops them all.
  const adminView = await api(sides.bob, 'GET', path, 'root', undefined, 'admin');
  assert.deepEqual([...adminView.body.task_ids].sort(), [bobTask, third.body.task_id].sort());
  const adminStop = await api(sides.bob, 'POST', `${path}/stop`, 'root', undefined, 'admin');
  ok(adminStop, "admin's stop-all");
  assert.deepEqual([...adminStop.body.task_ids].sort(), [bobTask, third.body.task_id].sort());
  await waitFor(() => endOf(bobTask) && endOf(third.body.task_id), { what: 'both tasks to end', timeoutMs: 8_000 });
  assert.equal(endOf(bobTask)!.status, 'cancelled');
  assert.equal(endOf(third.body.task_id)!.status, 'cancelled');
  await waitFor(async () => (await sides.alice.coordination.tasks.listByItem(`chat:${chat}`)).length === 0, { what: 'chat S to be empty' });
}

/**
 * `tasks.maxPerUser` (32) across instances: the 33rd running task of alice — on either
 * side — is refused with 429 SWY_QUOTA_EXCEEDED and Retry-After; bob is unaffected;
 * a burst never gets more than 32 running; ending one frees a slot.
 */
export async function perUserLimit(sides: Sides, limit: number): Promise<void> {
  const registry = sides.alice.coordination.tasks;
  const create = (side: Runtime, user: string) => api(side, 'POST', '/api/tasks', user, { kind: 'wait', item_id: `chat:q-${user}` });
  const ids: string[] = [];
  for (let i = 0; i < limit; i++) {
    const r = await create(i % 2 === 0 ? sides.alice : sides.bob, 'alice');
    ok(r, `alice's task #${i + 1}`);
    ids.push(r.body.task_id);
  }
  for (const side of [sides.alice, sides.bob]) {
    const refused = await create(side, 'alice');
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, ErrorCode.QUOTA_EXCEEDED);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.match(refused.body.error.message, new RegExp(`at most ${limit} per user`));
  }
  assert.equal((await registry.listByOwner('alice')).length, limit, 'the refused creates left nothing in the registry');
  ok(await create(sides.bob, 'bob'), 'bob is not affected by alice’s limit');

  // Ending one of alice's tasks frees one slot, on any instance.
  ok(await api(sides.bob, 'POST', `/api/tasks/stop/${ids[0]}`, 'alice'), 'alice stops one');
  await waitFor(async () => (await registry.listByOwner('alice')).length === limit - 1, { what: 'the slot to free' });
  ok(await create(sides.bob, 'alice'), 'a freed slot is usable');
  assert.equal((await create(sides.alice, 'alice')).status, 429, 'and then full again');

  // A burst of 50 concurrent creates by carol over both instances: the count and the
  // registration are one step, so exactly the limit run — never more, and no slot is refused.
  const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => create(i % 2 === 0 ? sides.alice : sides.bob, 'carol')));
  const admitted = burst.filter((r) => r.status === 200).length;
  assert.ok(burst.every((r) => r.status === 200 || (r.status === 429 && r.body.error.code === ErrorCode.QUOTA_EXCEEDED)), 'only 200s and 429s');
  assert.equal(admitted, limit, `${admitted} admitted of a burst of 50`);
  assert.equal((await registry.listByOwner('carol')).length, admitted);
  assert.equal((await create(sides.alice, 'carol')).status, 429, 'and then full');

  for (const user of ['alice', 'bob', 'carol']) {
    const stop = await api(sides.alice, 'POST', `/api/tasks/chat/q-${user}/stop`, 'root', undefined, 'admin');
    ok(stop, `admin stops ${user}'s tasks`);
  }
  await waitFor(async () => (await registry.list()).length === 0, { what: 'every task to end', timeoutMs: 10_000 });
  for (const user of ['alice', 'bob', 'carol']) assert.deepEqual(await registry.listByOwner(user), [], `no owner-set leftovers for ${user}`);
}
