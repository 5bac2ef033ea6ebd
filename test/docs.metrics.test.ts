import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Registry } from 'prom-client';
import { DocMetrics } from '../src/docs/DocMetrics.js';

it('document update counts kept as plain numbers show up in switchyard_docs_updates_total at every scrape, accumulated', async () => {
  const registry = new Registry();
  const metrics = new DocMetrics(registry, { loaded: () => 0, awarenessTimers: () => 0, connections: () => 0, maxConnectionsPerDoc: () => 0 });
  for (let i = 0; i < 3; i++) metrics.clientUpdates.inc();
  metrics.remoteUpdates.inc(2);
  const first = await registry.getSingleMetricAsString('switchyard_docs_updates_total');
  assert.match(first, /switchyard_docs_updates_total\{source="client"\} 3$/m);
  assert.match(first, /switchyard_docs_updates_total\{source="remote"\} 2$/m);
  metrics.clientUpdates.inc();
  const second = await registry.getSingleMetricAsString('switchyard_docs_updates_total');
  assert.match(second, /source="client"\} 4$/m);
  assert.match(second, /source="remote"\} 2$/m, 'nothing counted twice');
});
