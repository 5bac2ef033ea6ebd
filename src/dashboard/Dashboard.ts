import type { EventEmitter } from 'node:events';
import type { ActorSystem } from '../actors/ActorSystem.js';
import type { Behavior } from '../actors/types.js';
import type { Coordination } from '../coordination/ports.js';
import type { Feature } from '../Feature.js';
import type { WebHost } from '../http/ports.js';
import type { Logger } from '../observability/logger.js';
import type { StatsRegistry, StatsSnapshot } from '../observability/Stats.js';
import { CLEANUP_LOCK_NAME, type CleanupEvents } from '../presence/UsageCleanup.js';
import { ClusterStats, type StatsMessage } from './ClusterStats.js';
import { registerDashboardRoutes } from './dashboardRoutes.js';

export interface DashboardDeps {
  readonly instanceId: string;
  readonly stats: StatsRegistry;
  readonly coordination: Coordination;
  readonly actors: ActorSystem;
  readonly cleanupEvents: EventEmitter<CleanupEvents>;
  readonly log: Logger;
  /** Socket figures of the web host; null when the runtime runs without one (stats are still sampled and published). */
  readonly sockets: { connectionCount(): number; roomCount(): number } | null;
  /** Sampling period, ms. @default 1_000 */
  readonly publishMs?: number;
}

/** The actor kind of the stats sampler (one per instance, never passivated). */
export const STATS_ACTOR = { kind: 'observability.stats', key: 'main' } as const;

/**
 * Observability as a feature: registers the figures that exist in the core
 * (connections, rooms, actors, lease, sweep, process), runs the stats sampler actor
 * (1 s, published on the bus so any instance answers for the cluster), and serves the
 * dashboard at `/` and `/api/stats`. Other modules add figures with `stats.register(...)`.
 */
export class Dashboard implements Feature {
  readonly name = 'dashboard';
  private readonly sampler: ClusterStats;

  constructor(private readonly deps: DashboardDeps) {
    const { stats, sockets, actors } = deps;
    stats.register('connections', () => sockets?.connectionCount() ?? 0);
    stats.register('rooms', () => sockets?.roomCount() ?? 0);
    stats.register('actors', () => {
      const s = actors.stats();
      return { active: s.active, mailboxDepth: s.mailboxDepth, deadLetters: s.deadLetters.total };
    });

    // Lease and sweep figures follow the cleanup's events (they outlive its restarts).
    const lease = { leader: 0, fence: 0 };
    const sweep = { lastMs: 0, lastRemoved: 0 };
    deps.cleanupEvents.on('leader', (fence) => Object.assign(lease, { leader: 1, fence }));
    deps.cleanupEvents.on('lost', () => Object.assign(lease, { leader: 0 }));
    deps.cleanupEvents.on('sweep', (r) => Object.assign(sweep, { lastMs: r.endedAt - r.startedAt, lastRemoved: r.usageRemoved + r.sessionsRemoved }));
    // max: only the leader sweeps, so the cluster figure is the leader's; leader > 1 would show up per instance.
    stats.register('lease', () => ({ ...lease }), { aggregate: 'max' });
    stats.register('sweep', () => ({ lastMs: sweep.lastMs, lastRemoved: sweep.lastRemoved }), { aggregate: 'max' });
    stats.register('process', () => {
      const m = process.memoryUsage();
      return { rssMb: Math.round(m.rss / 1_048_576), heapUsedMb: Math.round(m.heapUsed / 1_048_576) };
    });
    this.sampler = new ClusterStats(stats, deps.coordination, { instanceId: deps.instanceId, leaseName: CLEANUP_LOCK_NAME, publishMs: deps.publishMs }, deps.log);
  }

  /** This instance's last sample (sync; the heartbeat publishes it). */
  latest(): StatsSnapshot {
    return this.sampler.latest();
  }

  attach(web: WebHost): void {
    registerDashboardRoutes(web, this.sampler);
  }

  start(): void {
    const sampler = this.sampler;
    this.deps.actors.register<StatsMessage, void>(
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
    this.deps.actors.tell(STATS_ACTOR.kind, STATS_ACTOR.key, { type: 'wake' });
  }
}
