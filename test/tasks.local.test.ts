import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/errors.js';
import { TestClient } from './helpers/gateway.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';
import { api, recordExits, tokenFor, waitKind } from './tasks.fixtures.js';

/** The task manager and REST API on the memory backend: one instance, every exit path. */
describe('tasks on the memory backend', () => {
  let t: TestRuntime;
  const clients: TestClient[] = [];
  before(async () => {
    // 40 tasks of one user at once below: the per-user limit has its own test (tasks.quota).
    t = await startRuntime({ log: { level: 'warn', components: {} }, tasks: { maxPerUser: 1_000 } });
    t.runtime.tasks.registerKind(waitKind('wait')).registerKind(waitKind('hang', 150));
  });
  after(async () => {
    for (const c of clients) c.terminate();
    await t.runtime.stop();
  });
  const connect = async (user: string) => {
    const c = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokenFor(user)}` });
    clients.push(c);
    return c;
  };
  const registry = () => t.runtime.coordination.tasks;

  it('create, list (owner and admin), stop a local task: cancelled once, gone from every registry entry', async () => {
    const exits = recordExits(t.runtime);
    const alice = await connect('alice');
    const created = await api(t.runtime, 'POST', '/api/tasks', 'alice', { kind: 'wait', item_id: 'chat:c1' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const taskId: string = created.body.task_id;
    assert.equal(created.body.item_id, 'chat:c1');

    assert.deepEqual((await api(t.runtime, 'GET', '/api/tasks/chat/c1', 'alice')).body, { task_ids: [taskId] });
    const all = await api(t.runtime, 'GET', '/api/tasks', 'root', undefined, 'admin');
    assert.equal(all.status, 200);
    const row = all.body.tasks.find((r: { task_id: string }) => r.task_id === taskId);
    assert.deepEqual(
      { item: row.item_id, owner: row.owner_id, instance: row.instance_id, status: row.status },
      { item: 'chat:c1', owner: 'alice', instance: t.runtime.instanceId, status: 'running' },
    );
    assert.equal((await api(t.runtime, 'GET', '/api/tasks', 'alice')).status, 403, 'listing everything is admin-only');

    const stopped = await api(t.runtime, 'POST', `/api/tasks/stop/${taskId}`, 'alice');
    assert.deepEqual(stopped, { status: 200, body: { status: true, message: `task ${taskId} stopped` } });
    await waitFor(() => exits.some((e) => e.record.taskId === taskId), { what: 'task exit' });
    assert.equal(exits.filter((e) => e.record.taskId === taskId && e.status === 'cancelled').length, 1);
    assert.equal(await registry().get(taskId), null);
    assert.deepEqual(await registry().listByItem('chat:c1'), []);
    // The owner's socket saw created, then cancelled.
    const status = await alice.waitFor((f) => f.event === 'task:status' && f.data.task_id === taskId && f.data.status === 'cancelled', 'cancelled status');
    const seen = alice.events('task:status').filter((f) => f.data.task_id === taskId).map((f) => f.data.status);
    assert.deepEqual(seen, ['created', 'cancelled']);
    assert.equal(status.data.item_id, 'chat:c1');
    assert.equal((await api(t.runtime, 'POST', `/api/tasks/stop/${taskId}`, 'alice')).status, 404, 'a finished task is not found');
  });

  it('a task without an item, a failing task and a timed-out task all leave no registry entry', async () => {
    const exits = recordExits(t.runtime);
    const done = await api(t.runtime, 'POST', '/api/tasks', 'alice', { kind: 'wait', input: { ms: 20 } });
    const failed = await api(t.runtime, 'POST', '/api/tasks', 'alice', { kind: 'wait', input: { fail: 'boom' } });
    const hung = await api(t.runtime, 'POST', '/api/tasks', 'alice', { kind: 'hang', item_id: 'chat:slow' });
    for (const r of [done, failed, hung]) assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor(() => exits.length >= 3, { what: 'three exits', timeoutMs: 3_000 });
    const by = (r: typeof done) => exits.find((e) => e.record.taskId === r.body.task_id)!;
    assert.equal(by(done).status, 'completed');
    assert.equal(by(done).record.itemId, null);
    assert.deepEqual({ status: by(failed).status, code: by(failed).error?.code }, { status: 'failed', code: ErrorCode.INTERNAL });
    assert.ok(!by(failed).error?.message.includes('boom'), 'an unexpected error does not leak its text to the owner');
    // `hang` ignores its signal: the timeout ends it anyway.
    assert.deepEqual({ status: by(hung).status, code: by(hung).error?.code }, { status: 'failed', code: ErrorCode.TASK_TIMEOUT });
    assert.ok(by(hung).durationMs >= 140, `timed out after its 150 ms timeout (${by(hung).durationMs} ms)`);
    assert.deepEqual(await registry().list(), []);
    assert.deepEqual(await registry().listByItem('chat:slow'), []);
    assert.equal(await registry().removeByInstance(t.runtime.instanceId).then((ids) => ids.length), 0, 'no instance-set leftovers');
  });

  it('stop all tasks of a chat while more are being created: each stopped exactly once, none left', async () => {
    const exits = recordExits(t.runtime);
    const { tasks } = t.runtime;
    const creates: Promise<string>[] = [];
    const stopAlls: Promise<string[]>[] = [];
    for (let i = 0; i < 40; i++) {
      creates.push(tasks.create({ kind: 'wait', itemId: 'chat:busy', ownerId: 'alice' }).then((r) => r.taskId));
      if (i % 8 === 4) stopAlls.push(tasks.stopItem('chat:busy'));
    }
    const ids = await Promise.all(creates);
    stopAlls.push(tasks.stopItem('chat:busy')); // queued behind every create: catches the rest
    const stoppedLists = await Promise.all(stopAlls);
    const stopped = stoppedLists.flat();
    assert.equal(new Set(stopped).size, stopped.length, 'no task was stopped by two stop-alls');
    assert.deepEqual([...stopped].sort(), [...ids].sort(), 'every created task was stopped by some stop-all');
    assert.ok(stoppedLists.slice(0, -1).some((l) => l.length > 0), 'the early stop-alls interleaved with creation');
    await waitFor(() => ids.every((id) => exits.some((e) => e.record.taskId === id)), { what: 'all exits' });
    for (const id of ids) assert.equal(exits.filter((e) => e.record.taskId === id).length, 1, `one exit for ${id}`);
    assert.ok(exits.every((e) => e.status === 'cancelled'));
    assert.deepEqual(await registry().listByItem('chat:busy'), []);
    assert.deepEqual(await registry().list(), []);
  });

  it('another user can neither see nor stop the tasks of a chat (his own view of it is empty); an admin can', async () => {
    const mine = await api(t.runtime, 'POST', '/api/tasks', 'alice', { kind: 'wait', item_id: 'chat:private' });
    const taskId: string = mine.body.task_id;
    const bob = await connect('bob');
    const bobView = await api(t.runtime, 'GET', '/api/tasks/chat/private', 'bob');
    assert.deepEqual(bobView, { status: 200, body: { task_ids: [] } });
    const bobStopAll = await api(t.runtime, 'POST', '/api/tasks/chat/private/stop', 'bob');
    assert.deepEqual({ status: bobStopAll.status, ids: bobStopAll.body.task_ids }, { status: 200, ids: [] });
    const forbidden = await api(t.runtime, 'POST', `/api/tasks/stop/${taskId}`, 'bob');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error.code, ErrorCode.FORBIDDEN);
    assert.ok(!JSON.stringify(forbidden.body).includes(taskId), 'the 403 names no task');
    assert.ok(!JSON.stringify(bobStopAll.body).includes(taskId) && !JSON.stringify(bobView.body).includes(taskId), 'bob never sees the id');
    assert.ok(await t.runtime.tasks.find(taskId), 'still running after bob tried');
    assert.equal(bob.events('task:status').length, 0, 'bob got no status of alice’s task');

    const adminView = await api(t.runtime, 'GET', '/api/tasks/chat/private', 'root', undefined, 'admin');
    assert.deepEqual(adminView.body, { task_ids: [taskId] });
    const stopAll = await api(t.runtime, 'POST', '/api/tasks/chat/private/stop', 'root', undefined, 'admin');
    assert.deepEqual(stopAll.body.task_ids, [taskId]);
    await waitFor(async () => (await registry().get(taskId)) === null, { what: 'task removed' });
  });

  it('bad requests: no token, unknown kind, malformed body, bad input — nothing is registered', async () => {
    assert.equal((await api(t.runtime, 'POST', '/api/tasks', null, { kind: 'wait' })).status, 401);
    const unknown = await api(t.runtime, 'POST', '/api/tasks', 'alice', { kind: 'nope' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /unknown task kind "nope"/);
    assert.equal((await api(t.runtime, 'POST', '/api/tasks', 'alice', [1, 2])).status, 400);
    assert.equal((await api(t.runtime, 'POST', '/api/tasks', 'alice', { kind: 'wait', item_id: 42 })).status, 400);
    const badInput = await api(t.runtime, 'POST', '/api/tasks', 'alice', { kind: 'completion', item_id: 'chat:z', input: { messages: [] } });
    assert.equal(badInput.status, 400);
    assert.match(badInput.body.error.message, /messages/);
    assert.equal((await api(t.runtime, 'POST', '/api/tasks/stop/no-such-task', 'alice')).status, 404);
    assert.deepEqual(await registry().list(), []);
  });

  it('shutdown cancels running tasks and removes them from the registry', async () => {
    const other = await startRuntime({ log: { level: 'warn', components: {} } }, { gateway: false });
    other.runtime.tasks.registerKind(waitKind('wait'));
    const exits = recordExits(other.runtime);
    const a = await other.runtime.tasks.create({ kind: 'wait', itemId: 'chat:s', ownerId: 'alice' });
    const b = await other.runtime.tasks.create({ kind: 'wait', itemId: null, ownerId: 'alice' });
    assert.equal((await other.runtime.coordination.tasks.list()).length, 2);
    await other.runtime.stop();
    assert.deepEqual(exits.map((e) => [e.record.taskId, e.status]).sort(), [[a.taskId, 'cancelled'], [b.taskId, 'cancelled']].sort());
    assert.deepEqual(await other.runtime.coordination.tasks.list(), []);
    await assert.rejects(other.runtime.tasks.create({ kind: 'wait', itemId: null, ownerId: 'alice' }), { code: ErrorCode.SHUTTING_DOWN });
  });
});
