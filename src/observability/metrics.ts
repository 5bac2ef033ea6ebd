import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/**
 * One Prometheus registry per runtime (not prom-client's global one), so several
 * runtimes in one test process never collide. Default process metrics include
 * `switchyard_nodejs_eventloop_lag_seconds`.
 */
export function createMetricsRegistry(instanceId: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ instance: instanceId });
  collectDefaultMetrics({ register: registry, prefix: 'switchyard_', eventLoopMonitoringPrecision: 20 });
  return registry;
}
