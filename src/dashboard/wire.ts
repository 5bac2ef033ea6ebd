import type { EventEmitter } from 'node:events';
import type { ActorSystem } from '../actors/ActorSystem.js';
import type { Behavior } from '../actors/types.js';
import type { Coordination } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';
import type { StatsRegistry } from '../observability/Stats.js';
import { CLEANUP_LOCK_NAME, type CleanupEvents } from '../presence/UsageCleanup.js';
import { ClusterStats, type StatsMessage } from './ClusterStats.js';
import { registerDashboardRoutes, type DashboardRouteTarget } from './dashboardRoutes.js';

export interface ObservabilityWiring {
  readonly instanceId: string;
  readonly stats: StatsRegistry;
  readonly coordination: Coordination;
  readonly actors: ActorSystem;
  readonly cleanupEvents: EventEmitter<CleanupEvents>;
  readonly log: Logger;
  /** Null when the runtime runs without a gateway: stats are still sampled and published. */
  readonly gateway: (DashboardRouteTarget & { connectionCount(): number; roomCount(): number }) | null;
  /** Sampling period, ms. @default 1_000 */
  readonly publishMs?: number;
}

/** The actor kind of the stats sampler (one per instance, never passivated). */
export const STATS_ACTOR = { kind: 'observability.stats', key: 'main' } as const;

/**
 * Registers the figures that exist in the core (connections, rooms, actors, lease,
 * sweep, process), starts the stats sampler actor, and adds the dashboard and
 * `/api/stats` to the gateway. Other modules add theirs with `stats.register(...)`.
 */
export function startObservability(w: ObservabilityWiring): ClusterStats {
  const { stats, gateway, actors } = w;
  stats.register('connections', () => gateway?.connectionCount() ?? 0);
  stats.register('rooms', () => gateway?.roomCount() ?? 0);
  stats.register('actors', () => {
    const s = actors.stats();
    return { active: s.active, mailboxDepth: s.mailboxDepth, deadLetters: s.deadLetters.total };
  });

  // Lease and sweep figures follow the cleanup's events (they outlive its restarts).
  const lease = { leader: 0, fence: 0 };
  const sweep = { lastMs: 0, lastRemoved: 0 };
  w.cleanupEvents.on('leader', (fence) => Object.assign(lease, { leader: 1, fence }));
  w.cleanupEvents.on('lost', () => Object.assign(lease, { leader: 0 }));
  w.cleanupEvents.on('sweep', (r) => Object.assign(sweep, { lastMs: r.endedAt - r.startedAt, lastRemoved: r.usageRemoved + r.sessionsRemoved }));
  // max: only the leader sweeps, so the cluster figure is the leader's; leader > 1 would show up per instance.
  stats.register('lease', () => ({ ...lease }), { aggregate: 'max' });
  stats.register('sweep', () => ({ lastMs: sweep.lastMs, lastRemoved: sweep.lastRemoved }), { aggregate: 'max' });
  stats.register('process', () => {
    const m = process.memoryUsage();
    return { rssMb: Math.round(m.rss / 1_048_576), heapUsedMb: Math.round(m.heapUsed / 1_048_576) };
  });

  const sampler = new ClusterStats(stats, w.coordination, { instanceId: w.instanceId, leaseName: CLEANUP_LOCK_NAME, publishMs: w.publishMs }, w.log);
  actors.register<StatsMessage, void>(
    STATS_ACTOR.kind,
    () =>
      ({
        onStart: (ctx) => sampler.start(ctx),
        receive: (msg, ctx) => (msg.type === 'tick' ? sampler.tick(ctx) : undefined),
        // A restart keeps the subscription and the lag monitor for the next incarnation.
        onStop: (_ctx, reason) => (reason === 'restart' ? undefined : sampler.stop()),
      }) satisfies Behavior<StatsMessage, void>,
    { idleTimeoutMs: 0 },
  );
  // The activation message only wakes the actor; onStart schedules the first tick.
  actors.tell(STATS_ACTOR.kind, STATS_ACTOR.key, { type: 'wake' });
  if (gateway) registerDashboardRoutes(gateway, sampler);
  return sampler;
}
