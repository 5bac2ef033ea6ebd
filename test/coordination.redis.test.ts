import './helpers/guard.js';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisCoordination, parseSentinelUrl, RedisKeys } from '../src/coordination/redis/index.js';
import { coordinationContract } from './coordination.contract.js';
import { dropPrefix } from './coordination.helpers.js';
import { describeRedis, randomPrefix, type RedisServer } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';


await describeRedis('redis coordination', (server: RedisServer) => {
  coordinationContract('redis', async () => {
    const keyPrefix = randomPrefix();
    const coord = await createRedisCoordination({ url: server.url, keyPrefix });
    return {
      coord,
      cleanup: async () => {
        await coord.close();
        await dropPrefix(server.url, keyPrefix);
      },
    };
  });

  describe('redis layout', () => {
    it('uses the documented key and channel names under the prefix', async () => {
      const keyPrefix = randomPrefix();
      const coord = await createRedisCoordination({ url: server.url, keyPrefix });
      const raw = new Redis(server.url);
      try {
        assert.ok(await coord.lock.acquire('usage_cleanup_lock', 'me', 10_000));
        assert.equal(await raw.get(`${keyPrefix}:usage_cleanup_lock`), 'me');
        await coord.tasks.add({ taskId: 't1', itemId: 'chat:1', ownerId: 'u', instanceId: 'i1', kind: 'k', status: 'running', createdAt: 1 });
        assert.equal(await raw.hexists(`${keyPrefix}:tasks`, 't1'), 1);
        assert.deepEqual(await raw.smembers(`${keyPrefix}:tasks:item:chat:1`), ['t1']);
        // A stop command published by anything speaking the original protocol reaches the bus topic.
        const got: string[] = [];
        await coord.bus.subscribe('tasks:commands', (p) => got.push(p));
        await raw.publish(`${keyPrefix}:tasks:commands`, '{"action":"stop","task_id":"t1"}');
        await waitFor(() => got.length === 1, { what: 'command on the prefixed channel' });
      } finally {
        raw.disconnect();
        await coord.close();
        await dropPrefix(server.url, keyPrefix);
      }
    });

    it('two Coordinations on one prefix share state and bus', async () => {
      const keyPrefix = randomPrefix();
      const a = await createRedisCoordination({ url: server.url, keyPrefix });
      const b = await createRedisCoordination({ url: server.url, keyPrefix });
      try {
        assert.ok(await a.lock.acquire('L', 'a', 10_000));
        assert.equal(await b.lock.acquire('L', 'b', 10_000), null);
        const got: string[] = [];
        await b.bus.subscribe('x', (p) => got.push(p));
        await a.bus.publish('x', 'from-a');
        await waitFor(() => got.length === 1, { what: 'cross-instance delivery' });
      } finally {
        await Promise.all([a.close(), b.close()]);
        await dropPrefix(server.url, keyPrefix);
      }
    });
  });
});

describe('redis adapter pieces (no server needed)', () => {
  it('RedisKeys names every key from the prefix', () => {
    const k = new RedisKeys('sw');
    assert.equal(k.lock('usage_cleanup_lock'), 'sw:usage_cleanup_lock');
    assert.equal(k.fence('usage_cleanup_lock'), 'sw:usage_cleanup_lock:fence');
    assert.equal(k.tasks, 'sw:tasks');
    assert.equal(k.taskItem('chat:1'), 'sw:tasks:item:chat:1');
    assert.equal(k.channel('tasks:commands'), 'sw:tasks:commands');
    assert.equal(k.topicOf('sw:tasks:commands'), 'tasks:commands');
    assert.equal(k.topicOf('other:tasks:commands'), null);
    // Document ids are escaped (base64url), so `v1:fence` and `v1` never share a key.
    assert.equal(k.docLog('v1'), 'sw:doc:djE:log');
    assert.equal(k.docSaved('v1:fence'), 'sw:doc:djE6ZmVuY2U:saved');
  });

  it('maps Sentinel URLs to ioredis sentinel options', () => {
    assert.deepEqual(parseSentinelUrl('redis+sentinel://:pw@h1:26379,h2:26380/mymaster/2?sentinelPassword=sp'), {
      sentinels: [{ host: 'h1', port: 26379 }, { host: 'h2', port: 26380 }],
      name: 'mymaster',
      password: 'pw',
      db: 2,
      sentinelPassword: 'sp',
    });
    assert.deepEqual(parseSentinelUrl('redis+sentinel://h1/m'), { sentinels: [{ host: 'h1', port: 26379 }], name: 'm' });
    assert.equal(parseSentinelUrl('redis://localhost:6379'), null);
    assert.throws(() => parseSentinelUrl('redis+sentinel://h1:26379'), /master name/);
  });

  it('every Lua script declares each of its KEYS in its header and touches no other', () => {
    const dir = new URL('../src/coordination/redis/lua/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.lua'));
    assert.ok(files.length >= 10, `found ${files.length} scripts`);
    for (const file of files) {
      const m = /^[A-Za-z]+-(\d+)\.lua$/.exec(file);
      assert.ok(m, `${file} is named <command>-<numKeys>.lua`);
      const numKeys = Number(m[1]);
      const lines = readFileSync(new URL(file, dir), 'utf8').split('\n');
      const header = lines.filter((l, i) => l.startsWith('--') && lines.slice(0, i).every((p) => p.startsWith('--'))).join('\n');
      assert.match(header, /ARGV/, `${file} header lists ARGV`);
      for (let k = 1; k <= numKeys; k++) assert.match(header, new RegExp(`KEYS\\[${k}\\]`), `${file} header lists KEYS[${k}]`);
      const used = [...lines.join('\n').matchAll(/KEYS\[(\d+)\]/g)].map((x) => Number(x[1]));
      assert.ok(used.every((k) => k >= 1 && k <= numKeys), `${file} uses only KEYS[1..${numKeys}]`);
    }
  });
});
