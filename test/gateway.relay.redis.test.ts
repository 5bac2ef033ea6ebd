import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisCoordination } from '../src/coordination/redis/index.js';
import type { Coordination } from '../src/coordination/ports.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

// The fast paths (issue 14): a relay's or a heartbeat's ack does not wait for Redis; the bus publishes go out per turn.
await describeRedis(
  'gateway: events:channel relay on the fast path, Redis coordination',
  (server) => {
    let a: TestGateway;
    let b: TestGateway;
    const coords: Coordination[] = [];
    const keyPrefix = randomPrefix();
    before(async () => {
      for (let i = 0; i < 2; i++) coords.push(await createRedisCoordination({ url: server.url, keyPrefix, busBackoff: { minMs: 100, maxMs: 400 } }));
      // Rooms are members-only by default: every user of these tests is a member of its channels (set on one backend, seen by both).
      for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) for (const room of ['channel:fast', 'channel:down']) await coords[0]!.roomMembers.add(room, user);
      a = await startGateway({ coordination: coords[0], instanceId: 'relay-a' });
      b = await startGateway({ coordination: coords[1], instanceId: 'relay-b' });
    });
    after(async () => {
      await a.close();
      await b.close();
      for (const c of coords) await c.close();
    });

    it('back-to-back relays: every ack comes, local and remote members get every frame once, in order', async () => {
      const alice = await a.connect('alice');
      const carol = await a.connect('carol');
      const bob = await b.connect('bob');
      for (const c of [alice, carol, bob]) assert.deepEqual((await c.request('join', { room: 'channel:fast' })).data, { room: 'channel:fast' });
      const n = 60;
      for (let i = 0; i < n; i++) alice.sendRaw(JSON.stringify({ event: 'events:channel', data: { channel_id: 'fast', message_id: i, data: { i } }, ack: 1_000 + i }));
      await alice.waitFor((f) => f.ack === 1_000 + n - 1, 'last ack');
      const acks = alice.frames.filter((f) => typeof f.ack === 'number' && f.ack >= 1_000);
      assert.equal(acks.length, n);
      assert.ok(acks.every((f) => f.error === undefined), JSON.stringify(acks.find((f) => f.error)));
      for (const member of [carol, bob]) {
        await waitFor(() => member.events('events:channel').length >= n, { what: 'every relay delivered' });
        assert.deepEqual(
          member.events('events:channel').map((f) => f.data?.message_id),
          Array.from({ length: n }, (_, i) => i),
        );
      }
      assert.equal(alice.events('events:channel').length, 0, 'no echo to the sender');
      for (const c of [alice, carol, bob]) c.close();
    });

    it('a bus message with a malformed frame is dropped whole; the next one is delivered, every frame in order', async () => {
      const bob = await b.connect('bob');
      await bob.request('join', { room: 'channel:fast' });
      const raw = new Redis(server.url);
      try {
        const channel = `${keyPrefix}:room:channel:fast`;
        const frame = (id: string) => `\n"events:channel"\n${JSON.stringify({ channel_id: 'fast', message_id: id })}`;
        await raw.publish(channel, `intruder${frame('bad')}\n"events:channel"`);
        await raw.publish(channel, `intruder${frame('ok-1')}${frame('ok-2')}`);
        await waitFor(() => bob.events('events:channel').length >= 2, { what: 'the well-formed frames' });
        assert.deepEqual(
          bob.events('events:channel').map((f) => f.data?.message_id),
          ['ok-1', 'ok-2'],
        );
      } finally {
        raw.disconnect();
        bob.close();
      }
    });

    it('a heartbeat is acked while Redis cannot answer (stopped): its ack waits for no Redis reply', async () => {
      const alice = await a.connect('alice');
      await alice.request('heartbeat'); // the session exists and the socket is settled
      process.kill(server.pid!, 'SIGSTOP');
      try {
        const reply = await alice.request('heartbeat');
        assert.equal(reply.error, undefined);
        assert.deepEqual(reply.data, {});
      } finally {
        process.kill(server.pid!, 'SIGCONT');
      }
      await waitFor(() => coords[0]!.ping(), { what: 'Redis answering again' });
      alice.close();
    });

    it('while the bus is down the sender learns it (BACKEND_UNAVAILABLE) and local members still get the frame', async () => {
      const alice = await a.connect('alice');
      const carol = await a.connect('carol');
      for (const c of [alice, carol]) await c.request('join', { room: 'channel:down' });
      await server.kill();
      try {
        let reply: Awaited<ReturnType<typeof alice.request>> | undefined;
        await waitFor(
          async () => {
            reply = await alice.request('events:channel', { channel_id: 'down', data: 'during the outage' });
            return reply.error !== undefined;
          },
          { what: 'the relay to report the outage' },
        );
        assert.equal(reply?.error?.code, 'SWY_BACKEND_UNAVAILABLE');
        await carol.waitFor((f) => f.event === 'events:channel' && f.data?.data === 'during the outage', 'the local member got it');
        assert.ok(alice.isOpen && carol.isOpen);
      } finally {
        await server.restart();
      }
      await waitFor(async () => (await alice.request('events:channel', { channel_id: 'down', data: 'back' })).error === undefined, {
        timeoutMs: 10_000,
        what: 'relays acked again after the restart',
      });
      alice.close();
      carol.close();
    });
  },
  { needsControl: true },
);
