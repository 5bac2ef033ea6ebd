import './helpers/guard.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../src/observability/logger.js';
import { aggregateSnapshots, StatsRegistry } from '../src/observability/Stats.js';

describe('StatsRegistry', () => {
  it('flattens numbers and groups into one snapshot', async () => {
    const stats = new StatsRegistry(silentLogger());
    stats.register('connections', () => 3);
    stats.register('jobs', async () => ({ queued: 2, active: 1 }));
    assert.deepEqual(await stats.snapshot(), { connections: 3, 'jobs.queued': 2, 'jobs.active': 1 });
  });

  it('leaves out a provider that throws, hangs or returns non-finite values, keeping the others', async () => {
    const stats = new StatsRegistry(silentLogger(), { providerTimeoutMs: 50 });
    stats.register('ok', () => 1);
    stats.register('throws', () => {
      throw new Error('boom');
    });
    stats.register('rejects', () => Promise.reject(new Error('redis down')));
    stats.register('hangs', () => new Promise<number>(() => {}));
    stats.register('nan', () => ({ a: Number.NaN, b: 2 }));
    const started = Date.now();
    assert.deepEqual(await stats.snapshot(), { ok: 1, 'nan.b': 2 });
    assert.ok(Date.now() - started < 2_000, 'a hanging provider is cut off at its timeout');
  });

  it('a provider that recovers is included again', async () => {
    const stats = new StatsRegistry(silentLogger());
    let fail = true;
    stats.register('flaky', () => {
      if (fail) throw new Error('not yet');
      return 7;
    });
    assert.deepEqual(await stats.snapshot(), {});
    fail = false;
    assert.deepEqual(await stats.snapshot(), { flaky: 7 });
  });

  it('rejects bad and duplicate names; unregister removes the provider', async () => {
    const stats = new StatsRegistry(silentLogger());
    assert.throws(() => stats.register('has.dot', () => 1), /letters, digits/);
    assert.throws(() => stats.register('', () => 1), /letters, digits/);
    const off = stats.register('docs', () => 1);
    assert.throws(() => stats.register('docs', () => 2), /already registered/);
    off();
    assert.deepEqual(await stats.snapshot(), {});
    stats.register('docs', () => 2);
    assert.deepEqual(await stats.snapshot(), { docs: 2 });
  });

  it('aggregates per key: sum by default, max/min as registered, none left out', () => {
    const stats = new StatsRegistry(silentLogger());
    stats.register('connections', () => 0);
    stats.register('eventLoop', () => ({}), { aggregate: 'max' });
    stats.register('free', () => 0, { aggregate: 'min' });
    stats.register('fence', () => 0, { aggregate: 'none' });
    const cluster = aggregateSnapshots(
      [
        { connections: 2, 'eventLoop.p99Ms': 5, free: 10, fence: 3, unknown: 1 },
        { connections: 3, 'eventLoop.p99Ms': 40, free: 4, fence: 4, unknown: 1 },
      ],
      (k) => stats.aggregateOf(k),
    );
    assert.deepEqual(cluster, { connections: 5, 'eventLoop.p99Ms': 40, free: 4, unknown: 2 });
  });
});
