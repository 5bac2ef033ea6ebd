import './helpers/guard.js';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ErrorCode, LeaseLostError, SwitchyardError } from '../src/errors.js';
import { SESSION_TOUCH_EVERY_MS, type Coordination, type SessionInfo, type TaskRecord } from '../src/coordination/ports.js';
import { sleep, waitFor } from './helpers/wait.js';

export interface Backend {
  readonly coord: Coordination;
  cleanup(): Promise<void>;
}

/** The one suite every coordination backend must pass; each test gets a fresh backend. */
export function coordinationContract(name: string, makeBackend: () => Promise<Backend>): void {
  describe(`coordination contract: ${name}`, () => {
    let backend: Backend;
    let c: Coordination;
    beforeEach(async () => {
      backend = await makeBackend();
      c = backend.coord;
    });
    afterEach(async () => {
      await backend.cleanup();
    });

    const session = (sid: string, userId: string, lastSeenAt = 1_000): SessionInfo => ({
      sid, userId, name: `name-${userId}`, role: 'user', instanceId: 'i1', connectedAt: 500, lastSeenAt,
    });
    const sorted = (xs: string[]) => [...xs].sort();

    describe('sessions', () => {
      it('upsert, get, count and userCount', async () => {
        await c.sessions.upsert(session('s1', 'alice'));
        await c.sessions.upsert(session('s2', 'alice'));
        await c.sessions.upsert(session('s3', 'bob'));
        assert.deepEqual(await c.sessions.get('s1'), session('s1', 'alice'));
        assert.equal(await c.sessions.get('nope'), null);
        assert.equal(await c.sessions.count(), 3);
        assert.equal(await c.sessions.userCount(), 2);
      });

      it('touch refreshes lastSeenAt of known sessions only', async () => {
        await c.sessions.upsert(session('s1', 'alice', 1_000));
        assert.equal(await c.sessions.touch('s1', 5_000), true);
        assert.equal((await c.sessions.get('s1'))?.lastSeenAt, 5_000);
        assert.equal(await c.sessions.touch('nope', 5_000), false);
        assert.equal(await c.sessions.get('nope'), null);
        assert.equal(await c.sessions.count(), 1);
      });

      it('a touch within SESSION_TOUCH_EVERY_MS may be answered without a write; the next one after it is written', async () => {
        await c.sessions.upsert(session('s1', 'alice', 1_000));
        assert.equal(await c.sessions.touch('s1', 5_000), true);
        // Answered at once, not as a promise: the heartbeat path makes none for it.
        assert.equal(c.sessions.touch('s1', 5_000 + SESSION_TOUCH_EVERY_MS / 2), true, 'known, whether written or not');
        const mid = (await c.sessions.get('s1'))?.lastSeenAt;
        assert.ok(mid === 5_000 || mid === 5_000 + SESSION_TOUCH_EVERY_MS / 2, `lastSeenAt ${mid}`);
        assert.equal(await c.sessions.touch('s1', 5_000 + SESSION_TOUCH_EVERY_MS), true);
        assert.equal((await c.sessions.get('s1'))?.lastSeenAt, 5_000 + SESSION_TOUCH_EVERY_MS, 'a second after the last write: written');
        await c.sessions.remove('s1');
        assert.equal(await c.sessions.touch('s1', 5_000 + SESSION_TOUCH_EVERY_MS + 1), false, 'removed: unknown, not answered from the throttle');
      });

      it('remove drops the session and a user with no sessions left', async () => {
        await c.sessions.upsert(session('s1', 'alice'));
        await c.sessions.upsert(session('s2', 'alice'));
        await c.sessions.upsert(session('s3', 'bob'));
        await c.sessions.remove('s3');
        await c.sessions.remove('nope');
        assert.equal(await c.sessions.get('s3'), null);
        assert.equal(await c.sessions.count(), 2);
        assert.equal(await c.sessions.userCount(), 1);
        await c.sessions.remove('s1');
        assert.equal(await c.sessions.userCount(), 1, 'alice still has s2');
        await c.sessions.remove('s2');
        assert.equal(await c.sessions.userCount(), 0);
      });

      it('upsert rebinding a session to another user moves the user count', async () => {
        await c.sessions.upsert(session('s1', 'alice'));
        await c.sessions.upsert(session('s1', 'bob'));
        assert.equal(await c.sessions.count(), 1);
        assert.equal(await c.sessions.userCount(), 1);
        assert.equal((await c.sessions.get('s1'))?.userId, 'bob');
        await c.sessions.upsert(session('s2', 'alice'));
        assert.equal(await c.sessions.userCount(), 2);
        await c.sessions.remove('s1');
        assert.equal(await c.sessions.userCount(), 1, 'removing the rebound session must not touch alice');
      });

      it('sweepIdle removes only sessions last seen before the cutoff, oldest first, up to the limit', async () => {
        await c.sessions.upsert(session('s1', 'alice', 100));
        await c.sessions.upsert(session('s2', 'bob', 200));
        await c.sessions.upsert(session('s3', 'carol', 300));
        await c.sessions.upsert(session('s4', 'dave', 400));
        await c.sessions.touch('s2', 1_500); // refreshed (over SESSION_TOUCH_EVERY_MS after its last write): no longer idle
        assert.deepEqual(await c.sessions.sweepIdle(300, 10), ['s1'], 'lastSeenAt == cutoff is not idle');
        assert.deepEqual(await c.sessions.sweepIdle(500, 1), ['s3']);
        assert.deepEqual(await c.sessions.sweepIdle(500, 10), ['s4']);
        assert.deepEqual(await c.sessions.sweepIdle(500, 10), []);
        assert.equal(await c.sessions.count(), 1);
        assert.equal(await c.sessions.userCount(), 1);
        assert.ok(await c.sessions.get('s2'));
      });
    });

    describe('usage', () => {
      it('mark, models, sessionsOf and size; re-marking does not duplicate', async () => {
        await c.usage.mark('gpt-4', 's1', 100);
        await c.usage.mark('gpt-4', 's2', 100);
        await c.usage.mark('gpt', 's1', 100); // a prefix of another model name
        await c.usage.mark('gpt-4', 's1', 200);
        assert.deepEqual(sorted(await c.usage.models()), ['gpt', 'gpt-4']);
        assert.deepEqual(sorted(await c.usage.sessionsOf('gpt-4')), ['s1', 's2']);
        assert.deepEqual(await c.usage.sessionsOf('gpt'), ['s1']);
        assert.deepEqual(await c.usage.sessionsOf('none'), []);
        assert.equal(await c.usage.size(), 3);
      });

      it('both backends accept and refuse the same model names (refused: BAD_REQUEST, never a RangeError)', async () => {
        const accepted = ['gpt-4o-mini', 'org/model:v2', 'modèle 🚀', 'x'.repeat(256)];
        for (const model of accepted) await c.usage.mark(model, 's1', 100);
        assert.deepEqual(sorted(await c.usage.models()), sorted(accepted));
        for (const model of accepted) assert.deepEqual(await c.usage.sessionsOf(model), ['s1']);
        const refused = ['', 'a\u0001b', 'line\nbreak', 'tab\there', 'x'.repeat(257)];
        for (const model of refused) {
          await assert.rejects(c.usage.mark(model, 's1', 100), (err: unknown) => err instanceof SwitchyardError && err.code === ErrorCode.BAD_REQUEST, JSON.stringify(model));
        }
        assert.equal(await c.usage.size(), accepted.length, 'a refused mark leaves nothing behind');
      });

      it('removeSession drops every entry of that session only', async () => {
        await c.usage.mark('a', 's1', 100);
        await c.usage.mark('b', 's1', 100);
        await c.usage.mark('b', 's2', 100);
        await c.usage.removeSession('s1');
        await c.usage.removeSession('nope');
        assert.deepEqual(await c.usage.models(), ['b'], 'model a had only s1');
        assert.deepEqual(await c.usage.sessionsOf('b'), ['s2']);
        assert.equal(await c.usage.size(), 1);
        await c.usage.mark('a', 's1', 300); // the session can come back
        assert.equal(await c.usage.size(), 2);
      });

      it('sweep removes only entries marked before the cutoff; an empty model disappears', async () => {
        await c.usage.mark('a', 's1', 100);
        await c.usage.mark('a', 's2', 300);
        await c.usage.mark('b', 's1', 150);
        await c.usage.mark('c', 's3', 100);
        await c.usage.mark('c', 's3', 400); // refreshed
        assert.equal(await c.usage.sweep(300, 100), 2, 'entries at 100 and 150; 300 == cutoff stays');
        assert.deepEqual(sorted(await c.usage.models()), ['a', 'c']);
        assert.deepEqual(await c.usage.sessionsOf('a'), ['s2']);
        assert.equal(await c.usage.size(), 2);
        // The sweep also forgot s1's entries, so removing s1 later changes nothing.
        await c.usage.removeSession('s1');
        assert.equal(await c.usage.size(), 2);
      });

      it('sweep respects the limit, oldest first', async () => {
        for (let i = 0; i < 5; i++) await c.usage.mark('m', `s${i}`, 100 + i);
        assert.equal(await c.usage.sweep(1_000, 2), 2);
        assert.deepEqual(sorted(await c.usage.sessionsOf('m')), ['s2', 's3', 's4']);
        assert.equal(await c.usage.sweep(1_000, 10), 3);
        assert.equal(await c.usage.size(), 0);
        assert.deepEqual(await c.usage.models(), []);
      });
    });

    describe('fenced sweeps', () => {
      it('refuse with LeaseLostError unless the guard owner holds the lock', async () => {
        await c.usage.mark('m', 's1', 100);
        await c.sessions.upsert(session('s1', 'alice', 100));
        const guard = { name: 'usage_cleanup_lock', owner: 'me' };
        await assert.rejects(c.usage.sweep(1_000, 10, guard), LeaseLostError);
        await assert.rejects(c.sessions.sweepIdle(1_000, 10, guard), LeaseLostError);
        assert.ok(await c.lock.acquire('usage_cleanup_lock', 'other', 10_000));
        await assert.rejects(c.usage.sweep(1_000, 10, guard), LeaseLostError);
        await assert.rejects(c.sessions.sweepIdle(1_000, 10, guard), LeaseLostError);
        assert.equal(await c.usage.size(), 1, 'a refused sweep removes nothing');
        assert.equal(await c.sessions.count(), 1);
      });

      it('run while the guard owner holds the lock', async () => {
        await c.usage.mark('m', 's1', 100);
        await c.sessions.upsert(session('s1', 'alice', 100));
        assert.ok(await c.lock.acquire('usage_cleanup_lock', 'me', 10_000));
        const guard = { name: 'usage_cleanup_lock', owner: 'me' };
        assert.equal(await c.usage.sweep(1_000, 10, guard), 1);
        assert.deepEqual(await c.sessions.sweepIdle(1_000, 10, guard), ['s1']);
      });
    });

    describe('lease lock', () => {
      it('acquire is exclusive; holder reports owner, fence and TTL', async () => {
        const grant = await c.lock.acquire('L', 'a', 10_000);
        assert.ok(grant);
        assert.equal(await c.lock.acquire('L', 'b', 10_000), null);
        const h = await c.lock.holder('L');
        assert.equal(h?.owner, 'a');
        assert.equal(h?.fence, grant.fence);
        assert.ok(h && h.ttlMs > 0 && h.ttlMs <= 10_000, `ttlMs ${h?.ttlMs}`);
        assert.equal(await c.lock.holder('other'), null);
      });

      it('renew and release work for the owner only', async () => {
        assert.ok(await c.lock.acquire('L', 'a', 1_000));
        assert.equal(await c.lock.renew('L', 'b', 60_000), false);
        assert.equal(await c.lock.renew('L', 'a', 60_000), true);
        assert.ok(((await c.lock.holder('L'))?.ttlMs ?? 0) > 1_000, 'renew extended the TTL');
        assert.equal(await c.lock.release('L', 'b'), false);
        assert.equal((await c.lock.holder('L'))?.owner, 'a');
        assert.equal(await c.lock.release('L', 'a'), true);
        assert.equal(await c.lock.holder('L'), null);
        assert.equal(await c.lock.release('L', 'a'), false);
        assert.equal(await c.lock.renew('L', 'a', 1_000), false);
      });

      it('expires after its TTL, then another owner acquires it with a higher fence', async () => {
        const first = await c.lock.acquire('L', 'a', 100);
        assert.ok(first);
        await sleep(150);
        assert.equal(await c.lock.holder('L'), null);
        assert.equal(await c.lock.renew('L', 'a', 100), false, 'an expired lease cannot be renewed');
        const second = await c.lock.acquire('L', 'b', 10_000);
        assert.ok(second && second.fence > first.fence);
        assert.equal(await c.lock.release('L', 'a'), false);
      });

      it('fences strictly increase across acquisitions of a name', async () => {
        const fences: number[] = [];
        for (const owner of ['a', 'b', 'a', 'c']) {
          const grant = await c.lock.acquire('F', owner, 10_000);
          assert.ok(grant);
          fences.push(grant.fence);
          assert.ok(await c.lock.release('F', owner));
        }
        for (let i = 1; i < fences.length; i++) assert.ok(fences[i] > fences[i - 1], `fences ${fences}`);
      });
    });

    describe('tasks', () => {
      const task = (taskId: string, itemId: string | null, instanceId: string): TaskRecord => ({
        taskId, itemId, instanceId, ownerId: 'u1', kind: 'completion', status: 'running', createdAt: 1_000,
      });

      it('add, get, list, listByItem and remove (with and without an item)', async () => {
        await c.tasks.add(task('t1', 'chat:1', 'i1'));
        await c.tasks.add(task('t2', 'chat:1', 'i1'));
        await c.tasks.add(task('t3', null, 'i1'));
        assert.deepEqual(await c.tasks.get('t1'), task('t1', 'chat:1', 'i1'));
        assert.deepEqual(await c.tasks.get('t3'), task('t3', null, 'i1'));
        assert.equal(await c.tasks.get('nope'), null);
        assert.deepEqual(sorted((await c.tasks.list()).map((t) => t.taskId)), ['t1', 't2', 't3']);
        assert.deepEqual(sorted(await c.tasks.listByItem('chat:1')), ['t1', 't2']);
        await c.tasks.remove(task('t1', 'chat:1', 'i1'));
        await c.tasks.remove(task('t3', null, 'i1'));
        assert.deepEqual(await c.tasks.listByItem('chat:1'), ['t2']);
        assert.deepEqual((await c.tasks.list()).map((t) => t.taskId), ['t2']);
        assert.deepEqual(await c.tasks.removeByInstance('i1'), ['t2'], 'removed tasks left the instance set too');
      });

      it('removeByInstance removes every task of that instance only', async () => {
        await c.tasks.add(task('t1', 'chat:1', 'dead'));
        await c.tasks.add(task('t2', null, 'dead'));
        await c.tasks.add(task('t3', 'chat:1', 'alive'));
        assert.deepEqual(sorted(await c.tasks.removeByInstance('dead')), ['t1', 't2']);
        assert.deepEqual((await c.tasks.list()).map((t) => t.taskId), ['t3']);
        assert.deepEqual(await c.tasks.listByItem('chat:1'), ['t3']);
        assert.deepEqual(await c.tasks.removeByInstance('dead'), []);
      });

      it('listByOwner: ids of one owner on every instance; every removal path leaves the owner set', async () => {
        const owned = (taskId: string, ownerId: string, instanceId: string): TaskRecord => ({ ...task(taskId, 'chat:1', instanceId), ownerId });
        await c.tasks.add(owned('o1', 'alice', 'i1'));
        await c.tasks.add(owned('o2', 'alice', 'i2'));
        await c.tasks.add(owned('o3', 'bob', 'i2'));
        assert.deepEqual(sorted(await c.tasks.listByOwner('alice')), ['o1', 'o2']);
        assert.deepEqual(await c.tasks.listByOwner('bob'), ['o3']);
        assert.deepEqual(await c.tasks.listByOwner('carol'), []);
        await c.tasks.remove(owned('o1', 'alice', 'i1'));
        assert.deepEqual(await c.tasks.listByOwner('alice'), ['o2']);
        assert.deepEqual(sorted(await c.tasks.removeByInstance('i2')), ['o2', 'o3']);
        assert.deepEqual(await c.tasks.listByOwner('alice'), []);
        assert.deepEqual(await c.tasks.listByOwner('bob'), []);
      });

      it('addWithinLimit: registers up to the owner limit, a refusal writes nothing, other owners unaffected', async () => {
        const owned = (taskId: string, ownerId: string, itemId: string | null = 'chat:1'): TaskRecord => ({ ...task(taskId, itemId, 'i1'), ownerId });
        assert.equal(await c.tasks.addWithinLimit(owned('a1', 'alice'), 2, []), true);
        assert.equal(await c.tasks.addWithinLimit(owned('a2', 'alice', null), 2, []), true);
        assert.equal(await c.tasks.addWithinLimit(owned('a3', 'alice'), 2, []), false);
        assert.equal(await c.tasks.get('a3'), null, 'a refused task is not in the hash');
        assert.deepEqual(sorted(await c.tasks.listByOwner('alice')), ['a1', 'a2']);
        assert.deepEqual(await c.tasks.listByItem('chat:1'), ['a1']);
        assert.deepEqual(sorted(await c.tasks.removeByInstance('i1')), ['a1', 'a2'], 'and not in the instance set');
        assert.equal(await c.tasks.addWithinLimit(owned('a1', 'alice'), 2, []), true);
        assert.equal(await c.tasks.addWithinLimit(owned('a1', 'alice'), 1, []), true, 'the same task again is not a second one');
        assert.equal(await c.tasks.addWithinLimit(owned('b1', 'bob'), 1, []), true, 'bob has his own count');
        assert.deepEqual(await c.tasks.get('b1'), owned('b1', 'bob'));
        await c.tasks.remove(owned('a1', 'alice'));
        assert.equal(await c.tasks.addWithinLimit(owned('a4', 'alice'), 1, []), true, 'a removal frees its slot');
      });

      it('addWithinLimit counts the caller’s running ids the registry lacks, each once', async () => {
        const owned = (taskId: string): TaskRecord => ({ ...task(taskId, 'chat:1', 'i1'), ownerId: 'alice' });
        await c.tasks.add(owned('r1'));
        assert.equal(await c.tasks.addWithinLimit(owned('n1'), 2, ['lost-1']), false, 'r1 + lost-1 + n1 > 2');
        assert.equal(await c.tasks.addWithinLimit(owned('n1'), 2, ['r1', 'r1']), true, 'r1 is in the registry: counted once');
        assert.equal(await c.tasks.addWithinLimit(owned('n2'), 3, ['lost-1']), false, 'r1 + n1 + lost-1 + n2 > 3');
        assert.equal(await c.tasks.addWithinLimit(owned('n2'), 4, ['lost-1', 'lost-1']), true, 'lost-1 counted once');
        assert.deepEqual(sorted(await c.tasks.listByOwner('alice')), ['n1', 'n2', 'r1']);
      });

      it('addWithinLimit is atomic: concurrent creates never pass the limit, and fill it exactly', async () => {
        const owned = (taskId: string): TaskRecord => ({ ...task(taskId, `chat:${taskId}`, `i${taskId.length % 2}`), ownerId: 'alice' });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.tasks.addWithinLimit(owned(`c${i}`), 5, [])));
        assert.equal(results.filter(Boolean).length, 5);
        assert.equal((await c.tasks.listByOwner('alice')).length, 5);
        assert.equal((await c.tasks.list()).length, 5);
      });
    });

    describe('bus', () => {
      it('delivers to every handler of the topic and to no other topic', async () => {
        const got: Record<string, string[]> = { a1: [], a2: [], b: [] };
        await c.bus.subscribe('a', (p, topic) => got.a1.push(`${topic}:${p}`));
        await c.bus.subscribe('a', (p) => got.a2.push(p));
        await c.bus.subscribe('b', (p) => got.b.push(p));
        await c.bus.publish('a', 'hello');
        await c.bus.publish('b', 'marker'); // published after 'hello': once it arrives, 'hello' has been routed
        await waitFor(() => got.a1.length === 1 && got.a2.length === 1 && got.b.length === 1, { what: 'deliveries' });
        assert.deepEqual(got, { a1: ['a:hello'], a2: ['hello'], b: ['marker'] });
      });

      it('unsubscribe stops delivery to that handler; topicCount follows local subscriptions', async () => {
        assert.equal(c.bus.topicCount(), 0);
        const gone: string[] = [];
        const kept: string[] = [];
        const offGone = await c.bus.subscribe('t', (p) => gone.push(p));
        const offKept = await c.bus.subscribe('t', (p) => kept.push(p));
        const offOther = await c.bus.subscribe('u', () => {});
        assert.equal(c.bus.topicCount(), 2);
        await offGone();
        await offGone(); // idempotent
        assert.equal(c.bus.topicCount(), 2, 't still has a handler');
        await c.bus.publish('t', 'x');
        await waitFor(() => kept.length === 1, { what: 'delivery to the remaining handler' });
        assert.deepEqual(gone, []);
        await offKept();
        await offOther();
        assert.equal(c.bus.topicCount(), 0);
        const again: string[] = [];
        await c.bus.subscribe('t', (p) => again.push(p));
        await c.bus.publish('t', 'y');
        await waitFor(() => again.length === 1, { what: 'delivery after resubscribing' });
        assert.deepEqual(kept, ['x'], 'an unsubscribed handler gets nothing');
      });

      it('publishFrame: every frame arrives once, in order, each payload the header then whole frames; a plain publish keeps its place', async () => {
        const got: string[] = [];
        await c.bus.subscribe('f', (p) => got.push(p));
        const sent = ['\n1', '\n2', 'plain', '\n3', '\n4'];
        // One turn: frames around a plain publish of the same topic (the bus may merge 1+2 and 3+4, never across it).
        await Promise.all(sent.map((m) => (m === 'plain' ? c.bus.publish('f', m) : c.bus.publishFrame('f', 'hdr', m))));
        const flat = () => got.flatMap((p) => (p.startsWith('hdr') ? p.slice('hdr'.length).split(/(?=\n)/) : [p]));
        await waitFor(() => flat().length >= sent.length, { what: 'every frame delivered' });
        assert.deepEqual(flat(), sent);
        assert.ok(got.every((p) => p === 'plain' || /^hdr(\n\d)+$/.test(p)), JSON.stringify(got));
      });

      it('unsubscribe(topic, handler) removes one handler shared by several topics from that topic only', async () => {
        const got: string[] = [];
        const other: string[] = [];
        const shared = (p: string, topic: string) => got.push(`${topic}:${p}`);
        await c.bus.subscribe('s1', shared);
        await c.bus.subscribe('s2', shared);
        await c.bus.subscribe('s1', (p) => other.push(p));
        assert.equal(c.bus.topicCount(), 2);
        await c.bus.unsubscribe('s1', shared);
        await c.bus.unsubscribe('s1', shared); // a no-op once gone
        await c.bus.unsubscribe('never', shared); // and for a topic it never had
        assert.equal(c.bus.topicCount(), 2, 's1 keeps its other handler');
        await c.bus.publish('s1', 'a');
        await c.bus.publish('s2', 'b');
        await waitFor(() => got.length === 1 && other.length === 1, { what: 'deliveries' });
        assert.deepEqual(got, ['s2:b']);
        assert.deepEqual(other, ['a']);
        await c.bus.unsubscribe('s2', shared);
        assert.equal(c.bus.topicCount(), 1);
      });
    });

    describe('instances', () => {
      const info = (instanceId: string) => ({ instanceId, host: 'h', pid: 1, startedAt: 0, stats: { connections: 3 } });

      it('heartbeat keeps an instance live; reapDead removes lapsed ones once', async () => {
        await c.instances.heartbeat(info('a'), 1_000, 0);
        await c.instances.heartbeat(info('b'), 1_000, 0);
        assert.deepEqual(sorted((await c.instances.listLive(500)).map((i) => i.instanceId)), ['a', 'b']);
        assert.deepEqual(await c.instances.reapDead(500), []);
        await c.instances.heartbeat(info('a'), 1_000, 900);
        assert.deepEqual(await c.instances.listLive(1_500), [info('a')]);
        assert.deepEqual(await c.instances.reapDead(1_500), ['b']);
        assert.deepEqual(await c.instances.reapDead(1_500), []);
        assert.deepEqual(await c.instances.listLive(1_500), [info('a')]);
        await c.instances.remove('a');
        assert.deepEqual(await c.instances.listLive(0), []);
      });
    });

    it('ping answers true while the backend is up', async () => {
      assert.equal(await c.ping(), true);
      assert.equal(c.kind, name);
    });
  });
}
