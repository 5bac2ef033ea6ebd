import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TaskExit } from '../src/tasks/index.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { waitFor } from './helpers/wait.js';
import { api, clusterConfig, recordExits, waitKind } from './tasks.fixtures.js';

/** Two in-process instances sharing one Redis: the registry, the bus and stop-anywhere. */
await describeRedis(
  'tasks across two instances on Redis',
  (server) => {
    // Nested, so these instances stop (after()) before describeRedis stops the server.
    describe('instances', () => {
      const prefix = randomPrefix();
      let a: TestRuntime;
      let b: TestRuntime;
      let exitsA: TaskExit[];
      let exitsB: TaskExit[];
      before(async () => {
        a = await startRuntime(clusterConfig(server, prefix));
        b = await startRuntime(clusterConfig(server, prefix));
        for (const t of [a, b]) t.runtime.tasks.registerKind(waitKind('wait')).registerKind(waitKind('hang', 200));
        exitsA = recordExits(a.runtime);
        exitsB = recordExits(b.runtime);
      });
      after(async () => {
        await Promise.all([a, b].filter(Boolean).map((t) => t.runtime.stop()));
      });
      const registry = () => a.runtime.coordination.tasks;
      const exitOf = (exits: TaskExit[], id: string) => exits.filter((e) => e.record.taskId === id);

      it('a task created on B is listed from A and stopped from A over the bus', async () => {
        const created = await api(b.runtime, 'POST', '/api/tasks', 'alice', { kind: 'wait', item_id: 'chat:x1' });
        assert.equal(created.status, 200);
        const taskId: string = created.body.task_id;
        assert.deepEqual((await api(a.runtime, 'GET', '/api/tasks/chat/x1', 'alice')).body, { task_ids: [taskId] });
        const all = await api(a.runtime, 'GET', '/api/tasks', 'root', undefined, 'admin');
        const row = all.body.tasks.find((r: { task_id: string }) => r.task_id === taskId);
        assert.equal(row.instance_id, b.runtime.instanceId);
        assert.equal(row.owner_id, 'alice');
        assert.equal((await api(a.runtime, 'POST', `/api/tasks/stop/${taskId}`, 'bob')).status, 403, 'not the owner');

        const stop = await api(a.runtime, 'POST', `/api/tasks/stop/${taskId}`, 'alice');
        assert.equal(stop.status, 200);
        assert.match(stop.body.message, new RegExp(`sent for task ${taskId} to instance ${b.runtime.instanceId}`));
        await waitFor(() => exitOf(exitsB, taskId).length > 0, { what: 'B to stop the task' });
        assert.equal(exitOf(exitsB, taskId)[0]!.status, 'cancelled');
        assert.equal(await registry().get(taskId), null);
        assert.deepEqual(await registry().listByItem('chat:x1'), []);
      });

      it('stop all tasks of a chat from A while both instances create more: each stopped exactly once, none left', async () => {
        const item = 'chat:busy';
        const creates: Promise<string>[] = [];
        const stopAlls: Promise<string[]>[] = [];
        for (let i = 0; i < 30; i++) {
          const on = i % 2 === 0 ? a : b;
          creates.push(on.runtime.tasks.create({ kind: 'wait', itemId: item, ownerId: 'alice' }).then((r) => r.taskId));
          if (i % 10 === 5) stopAlls.push(a.runtime.tasks.stopItem(item));
        }
        const ids = await Promise.all(creates);
        // After every create is registered, one more stop-all from each side catches the rest.
        stopAlls.push(a.runtime.tasks.stopItem(item), b.runtime.tasks.stopItem(item));
        await Promise.all(stopAlls);
        await waitFor(() => ids.every((id) => exitOf(exitsA, id).length + exitOf(exitsB, id).length > 0), { what: 'every task to exit', timeoutMs: 8_000 });
        for (const id of ids) {
          const exits = [...exitOf(exitsA, id), ...exitOf(exitsB, id)];
          assert.equal(exits.length, 1, `task ${id} exited once`);
          assert.equal(exits[0]!.status, 'cancelled');
        }
        assert.deepEqual(await registry().listByItem(item), []);
        assert.deepEqual(await registry().list(), []);
        for (const t of [a, b]) assert.deepEqual(await registry().removeByInstance(t.runtime.instanceId), [], 'no instance-set leftovers');
      });

      it('a task without an item and a timed-out task are removed from Redis', async () => {
        const plain = await b.runtime.tasks.create({ kind: 'wait', itemId: null, ownerId: 'alice', input: { ms: 30 } });
        const hung = await b.runtime.tasks.create({ kind: 'hang', itemId: 'chat:t', ownerId: 'alice' });
        assert.ok(await registry().get(hung.taskId), 'registered while it runs');
        await waitFor(() => exitOf(exitsB, plain.taskId).length && exitOf(exitsB, hung.taskId).length, { what: 'both exits' });
        assert.equal(exitOf(exitsB, plain.taskId)[0]!.status, 'completed');
        assert.equal(exitOf(exitsB, hung.taskId)[0]!.error?.code, 'SWY_TASK_TIMEOUT');
        assert.equal(await registry().get(plain.taskId), null);
        assert.equal(await registry().get(hung.taskId), null);
        assert.deepEqual(await registry().listByItem('chat:t'), []);
      });

      it('Redis killed and restarted: a stop sent after the restart still reaches the task on the other instance', async () => {
        const task = await b.runtime.tasks.create({ kind: 'wait', itemId: 'chat:blip', ownerId: 'alice' });
        await server.kill();
        await server.restart(); // an empty Redis: the registry is gone
        // B re-registers what it runs once its bus is back; then A can find and stop it.
        await waitFor(async () => (await registry().get(task.taskId)) !== null, { what: 'B to re-register its task', timeoutMs: 15_000, intervalMs: 100 });
        const result = await a.runtime.tasks.stop(task.taskId);
        assert.deepEqual({ found: result.found, instance: result.instanceId }, { found: true, instance: b.runtime.instanceId });
        await waitFor(() => exitOf(exitsB, task.taskId).length > 0, { what: 'B to stop the task', timeoutMs: 10_000 });
        assert.equal(exitOf(exitsB, task.taskId)[0]!.status, 'cancelled');
        await waitFor(async () => (await registry().get(task.taskId)) === null, { what: 'registry entry removed' });
        assert.deepEqual(await registry().listByItem('chat:blip'), []);
      });
    });
  },
  { needsControl: true },
);
