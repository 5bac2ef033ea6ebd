import type { EventEmitter } from 'node:events';
import type { ActorSystem } from '../actors/ActorSystem.js';
import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import type { Feature } from '../Feature.js';
import type { WebHost } from '../http/ports.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import { InstanceHeartbeat } from './InstanceHeartbeat.js';
import { attachPresenceApi } from './presenceApi.js';
import { registerSupervisor } from './supervisor.js';
import { CleanupMetrics, UsageCleanup, type CleanupEvents } from './UsageCleanup.js';

/** How long an escalated supervisor child stays down before it is started again. */
const REVIVAL_DELAY_MS = 5_000;

export interface PresenceDeps {
  readonly config: Config;
  readonly instanceId: string;
  readonly coordination: Coordination;
  readonly actors: ActorSystem;
  readonly metrics: Registry;
  /** Where the cleanup reports leader / lost / sweep (the dashboard listens). */
  readonly cleanupEvents: EventEmitter<CleanupEvents>;
  readonly log: Logger;
  /** Figures the heartbeat publishes with this instance (the dashboard's latest sample). */
  readonly stats: () => Record<string, number>;
}

/**
 * Sessions and presence as a feature: the `heartbeat` / `usage` events and
 * `/api/usage` on the web host, and the supervision tree (usage/session cleanup
 * under a fenced lease, instance heartbeat). Other features learn of dead instances
 * through {@link onDeadInstance} (tasks removes their registry entries).
 */
export class Presence implements Feature {
  readonly name = 'presence';
  private readonly deadInstanceHooks: Array<(instanceId: string) => Promise<void>> = [];
  private readonly supervisor: { start(): void };

  constructor(private readonly deps: PresenceDeps) {
    const { config, coordination, log } = deps;
    const cleanupMetrics = new CleanupMetrics(deps.metrics);
    this.supervisor = registerSupervisor(
      deps.actors,
      () =>
        new UsageCleanup(
          coordination,
          { owner: deps.instanceId, ...config.presence, onDeadInstance: (id) => this.deadInstance(id) },
          cleanupMetrics,
          log,
          deps.cleanupEvents,
        ),
      () => new InstanceHeartbeat(coordination.instances, { instanceId: deps.instanceId, ...config.instances, stats: deps.stats }, log),
      { revivalDelayMs: REVIVAL_DELAY_MS },
    );
  }

  /** `heartbeat` and `usage` events, `GET /api/usage`. */
  attach(web: WebHost): void {
    attachPresenceApi(web, { instanceId: this.deps.instanceId, coordination: this.deps.coordination, now: Date.now });
  }

  /** `hook` runs for every instance the cleanup reaps; the reap is retried until every hook succeeded. */
  onDeadInstance(hook: (instanceId: string) => Promise<void>): void {
    this.deadInstanceHooks.push(hook);
  }

  start(): void {
    this.supervisor.start();
  }

  private async deadInstance(instanceId: string): Promise<void> {
    await Promise.all(this.deadInstanceHooks.map((hook) => hook(instanceId)));
  }
}
