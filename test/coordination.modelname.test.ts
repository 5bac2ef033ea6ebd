import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createRedisCoordination } from '../src/coordination/redis/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { describeRedis, randomPrefix } from './helpers/redis.js';

/** Model names are checked once, at the `usage` event, with the rule both backends share. */
await describeRedis('usage: model names validated at the edge, on both backends', (server) => {
  for (const kind of ['memory', 'redis'] as const) {
    describe(kind, () => {
      let gw: TestGateway | null = null;
      after(async () => {
        await gw?.close();
        if (gw && kind === 'redis') await gw.coordination.close();
      });

      it('a bad model name is BAD_REQUEST for that caller only; the socket and the pool stay usable', async () => {
        const coordination = kind === 'redis' ? await createRedisCoordination({ url: server.url, keyPrefix: randomPrefix(), logger: silentLogger() }) : undefined;
        gw = await startGateway(coordination ? { coordination } : {});
        const attacker = await gw.connect('mallory');
        const other = await gw.connect('alice');
        for (const model of ['a\u0001b', 'x\ny', 'm'.repeat(300)]) {
          const reply = await attacker.request('usage', { action: 'chat', model, chat_id: 'c1' });
          assert.equal(reply.error?.code, 'SWY_BAD_REQUEST', `${JSON.stringify(model)} → ${JSON.stringify(reply)}`);
        }
        assert.ok(attacker.isOpen, 'a refused usage does not close the socket');
        assert.equal((await attacker.request('usage', { action: 'chat', model: 'org/model:v2', chat_id: 'c1' })).error, undefined);
        assert.equal((await other.request('usage', { action: 'chat', model: 'gpt-4o-mini', chat_id: 'c2' })).error, undefined);
        assert.deepEqual((await gw.coordination.usage.models()).sort(), ['gpt-4o-mini', 'org/model:v2']);
        attacker.close();
        other.close();
      });
    });
  }
});
