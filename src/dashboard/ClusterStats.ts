import { errorMessage } from '../errors.js';
import type { Coordination, InstanceInfo, Unsubscribe } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';
import { aggregateSnapshots, type StatsRegistry, type StatsSnapshot } from '../observability/Stats.js';
import { EventLoopLag } from './EventLoopLag.js';

export interface ClusterStatsOptions {
  readonly instanceId: string;
  /** Lock whose holder the view reports (the usage cleanup lease). */
  readonly leaseName: string;
  /** Sampling and bus publishing period, ms. @default 1_000 */
  readonly publishMs?: number;
  /** Cluster history kept for the dashboard's charts, ms. @default 300_000 (5 minutes) */
  readonly historyMs?: number;
  readonly now?: () => number;
}

/** Ports the sampler needs: the bus for fresh snapshots, the registries for the authoritative lists. */
export type StatsPorts = Pick<Coordination, 'kind' | 'bus' | 'instances' | 'lock' | 'usage' | 'sessions'>;

/** `wake` only activates the actor (its onStart schedules the first tick). */
export type StatsMessage = { readonly type: 'tick' } | { readonly type: 'wake' };
const TICK: StatsMessage = Object.freeze({ type: 'tick' });

/** The timer an actor gives the sampler (dies with the actor, so shutdown stops it). */
export interface StatsContext {
  schedule(delayMs: number, msg: StatsMessage): () => void;
}

/** The bus topic on which every instance publishes its snapshot each period. */
export const STATS_TOPIC = 'stats:snapshots';

interface BusSnapshot {
  readonly v: 1;
  readonly instanceId: string;
  readonly at: number;
  readonly stats: StatsSnapshot;
}

export interface InstanceView {
  readonly instanceId: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** This is the instance that answered. */
  readonly self: boolean;
  /** When `stats` was taken, epoch ms; null for heartbeat figures (taken some time within the heartbeat period). */
  readonly updatedAt: number | null;
  /** `local`: taken now; `bus`: the last per-second snapshot; `heartbeat`: the last beat (older). */
  readonly source: 'local' | 'bus' | 'heartbeat';
  readonly stats: StatsSnapshot;
}

export interface ClusterHistory {
  /** Sample times, epoch seconds (uPlot's x unit). */
  readonly t: number[];
  /** One array per cluster figure, aligned with `t` (null where a figure was absent). */
  readonly series: Record<string, Array<number | null>>;
}

export interface ClusterView {
  readonly at: number;
  readonly instanceId: string;
  readonly coordination: string;
  readonly instances: InstanceView[];
  /** Figures combined over every live instance (sum / max per stat), plus cluster-wide ones. */
  readonly cluster: StatsSnapshot;
  readonly lease: { readonly holder: string; readonly fence: number; readonly ttlMs: number } | null;
  readonly history?: ClusterHistory;
}

/**
 * The stats sampler, run as an actor: every `publishMs` it snapshots this instance's
 * registry, publishes the snapshot on the bus (so every instance's dashboard sees the
 * whole cluster at one-second freshness, not at heartbeat pace) and appends the cluster
 * figures to a five-minute ring for the charts. `view()` builds the `/api/stats` answer.
 */
export class ClusterStats {
  private readonly publishMs: number;
  private readonly historyLength: number;
  private readonly now: () => number;
  private readonly lag = new EventLoopLag();
  private readonly remote = new Map<string, BusSnapshot>();
  private readonly history: Array<{ t: number; values: StatsSnapshot }> = [];
  private local: StatsSnapshot = {};
  private unsubscribe: Unsubscribe | null = null;
  private publishFailing = false;

  constructor(
    private readonly stats: StatsRegistry,
    private readonly ports: StatsPorts,
    private readonly options: ClusterStatsOptions,
    private readonly log: Logger,
  ) {
    this.publishMs = options.publishMs ?? 1_000;
    this.historyLength = Math.max(1, Math.ceil((options.historyMs ?? 300_000) / this.publishMs));
    this.now = options.now ?? Date.now;
    stats.register('eventLoop', () => ({ ...this.lag.figures() }), { aggregate: 'max' });
  }

  /** The last local snapshot (sync, for the heartbeat's `stats`). */
  latest(): StatsSnapshot {
    return this.local;
  }

  start(ctx: StatsContext): void {
    ctx.schedule(0, TICK);
  }

  async tick(ctx: StatsContext): Promise<void> {
    try {
      await this.subscribe();
      this.lag.rotate();
      const at = this.now();
      this.local = await this.stats.snapshot();
      await this.publish({ v: 1, instanceId: this.options.instanceId, at, stats: this.local });
      this.record(at);
    } catch (err) {
      // Never let a bad sample stop the sampler: the next tick tries again.
      this.log.warn({ err: errorMessage(err) }, 'stats sample failed');
    }
    ctx.schedule(this.publishMs, TICK);
  }

  async stop(): Promise<void> {
    this.lag.close();
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    await unsubscribe?.().catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'stats unsubscribe failed'));
  }

  /** The cluster as `/api/stats` reports it; `history` adds the last five minutes of cluster figures. */
  async view(options: { history?: boolean } = {}): Promise<ClusterView> {
    const now = this.now();
    const self = this.options.instanceId;
    const [live, fresh, lease, models, users, sessions] = await Promise.all([
      this.ports.instances.listLive(now),
      this.stats.snapshot(),
      this.ports.lock.holder(this.options.leaseName),
      this.ports.usage.models(),
      this.ports.sessions.userCount(),
      this.ports.sessions.count(),
    ]);
    const instances = live.map((info) => this.instanceView(info, info.instanceId === self ? fresh : null));
    // Just started: the first heartbeat may not have landed yet, but this instance is surely live.
    if (!instances.some((i) => i.self)) {
      instances.push(this.instanceView({ instanceId: self, host: '', pid: process.pid, startedAt: now }, fresh));
    }
    instances.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    const cluster: StatsSnapshot = {
      ...aggregateSnapshots(
        instances.map((i) => i.stats),
        (k) => this.stats.aggregateOf(k),
      ),
      instances: instances.length,
      'usage.models': models.length,
      'usage.users': users,
      sessions,
    };
    return {
      at: now,
      instanceId: self,
      coordination: this.ports.kind,
      instances,
      cluster,
      lease: lease ? { holder: lease.owner, fence: lease.fence, ttlMs: lease.ttlMs } : null,
      ...(options.history ? { history: this.historySeries() } : {}),
    };
  }

  private instanceView(info: InstanceInfo, fresh: StatsSnapshot | null): InstanceView {
    const base = { instanceId: info.instanceId, host: info.host, pid: info.pid, startedAt: info.startedAt, self: fresh !== null };
    if (fresh) return { ...base, updatedAt: this.now(), source: 'local', stats: fresh };
    const bus = this.remote.get(info.instanceId);
    if (bus && this.isFresh(bus.at)) return { ...base, updatedAt: bus.at, source: 'bus', stats: bus.stats };
    return { ...base, updatedAt: null, source: 'heartbeat', stats: info.stats ?? {} };
  }

  /** A bus snapshot older than three periods belongs to an instance that stopped publishing. */
  private isFresh(at: number): boolean {
    return this.now() - at <= 3 * this.publishMs;
  }

  private async subscribe(): Promise<void> {
    if (this.unsubscribe) return;
    try {
      this.unsubscribe = await this.ports.bus.subscribe(STATS_TOPIC, (payload) => this.receive(payload));
    } catch (err) {
      // Retried next tick; meanwhile other instances are seen through their heartbeats.
      this.log.warn({ err: errorMessage(err) }, 'stats bus subscribe failed; retrying next period');
    }
  }

  private async publish(snapshot: BusSnapshot): Promise<void> {
    if (this.ports.kind === 'memory') return; // one process: nobody else to tell
    try {
      await this.ports.bus.publish(STATS_TOPIC, JSON.stringify(snapshot));
      if (this.publishFailing) this.log.info('stats publishing restored');
      this.publishFailing = false;
    } catch (err) {
      if (!this.publishFailing) this.log.warn({ err: errorMessage(err) }, 'stats publish failed; retrying every period');
      this.publishFailing = true;
    }
  }

  private receive(payload: string): void {
    let msg: BusSnapshot;
    try {
      msg = JSON.parse(payload) as BusSnapshot;
    } catch {
      this.log.debug('stats bus: ignored a message that is not JSON');
      return;
    }
    if (msg?.v !== 1 || typeof msg.instanceId !== 'string' || typeof msg.at !== 'number' || typeof msg.stats !== 'object' || msg.stats === null) return;
    if (msg.instanceId === this.options.instanceId) return;
    this.remote.set(msg.instanceId, msg);
  }

  /** Appends one cluster sample: this instance plus every peer that published recently. */
  private record(at: number): void {
    for (const [id, snap] of this.remote) if (!this.isFresh(snap.at)) this.remote.delete(id);
    const all = [this.local, ...[...this.remote.values()].map((s) => s.stats)];
    const values = { ...aggregateSnapshots(all, (k) => this.stats.aggregateOf(k)), instances: all.length };
    this.history.push({ t: at, values });
    if (this.history.length > this.historyLength) this.history.splice(0, this.history.length - this.historyLength);
  }

  private historySeries(): ClusterHistory {
    const keys = new Set<string>();
    for (const h of this.history) for (const k of Object.keys(h.values)) keys.add(k);
    const series: Record<string, Array<number | null>> = {};
    for (const k of keys) series[k] = this.history.map((h) => h.values[k] ?? null);
    return { t: this.history.map((h) => h.t / 1000), series };
  }
}
