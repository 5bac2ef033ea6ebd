import { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LeaseLostError, errorMessage } from '../errors.js';
import { Lease } from '../coordination/Lease.js';
import type { InstanceRegistry, LeaseLock, SessionPool, UsagePool } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';

export const CLEANUP_LOCK_NAME = 'usage_cleanup_lock';

export interface UsageCleanupOptions {
  /** This instance's id: the lease owner. */
  readonly owner: string;
  /** TIMEOUT_DURATION: entries older than this are removed; also the sweep period. */
  readonly usageTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  /** Lease TTL (WEBSOCKET_REDIS_LOCK_TIMEOUT). */
  readonly lockTimeoutMs: number;
  /** While not leader: time between attempts, ±25 % jitter so instances do not stampede. */
  readonly lockRetryMs: number;
  /** Entries removed per backend call. */
  readonly sweepBatch: number;
  readonly now?: () => number;
  /**
   * Called by the leader for each instance whose heartbeat expired (reaped from the
   * instance registry), e.g. to remove the tasks it left in the task registry. A hook
   * that throws is called again next cycle.
   */
  readonly onDeadInstance?: (instanceId: string) => Promise<void>;
}

export interface CleanupPorts {
  readonly lock: LeaseLock;
  readonly usage: UsagePool;
  readonly sessions: SessionPool;
  /** When given, the leader also reaps instances whose heartbeat expired. */
  readonly instances?: InstanceRegistry;
}

/** The only thing the cleanup needs from its actor: a timer that dies with it. */
export interface CleanupContext {
  schedule(delayMs: number, msg: CleanupMessage): () => void;
}

export type CleanupMessage = { readonly type: 'tick' };

export interface SweepRecord {
  readonly owner: string;
  readonly fence: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly usageRemoved: number;
  readonly sessionsRemoved: number;
  /** Dead instances reaped (and handed to `onDeadInstance`) this cycle. */
  readonly instancesReaped: number;
}

export interface CleanupEvents {
  leader: [fence: number];
  lost: [reason: string];
  sweep: [record: SweepRecord];
}

/** Safety valve: a sweep cycle stops after this many batches and resumes next tick. */
const MAX_BATCHES_PER_CYCLE = 100;
const TICK: CleanupMessage = Object.freeze({ type: 'tick' });

/** Prometheus series for the cleanup, created once per registry. */
export class CleanupMetrics {
  readonly leader: Gauge;
  readonly fence: Gauge;
  readonly sweepSeconds: Histogram;
  readonly removed: Counter<'pool'>;
  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.leader = new Gauge({ name: 'switchyard_cleanup_leader', help: '1 while this instance holds the usage cleanup lease', registers });
    this.fence = new Gauge({ name: 'switchyard_cleanup_fence', help: 'fence token of the lease this instance holds (0 when none)', registers });
    this.sweepSeconds = new Histogram({
      name: 'switchyard_cleanup_sweep_seconds',
      help: 'duration of one usage + session sweep',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.removed = new Counter({ name: 'switchyard_cleanup_removed_total', help: 'entries removed by sweeps', labelNames: ['pool'], registers });
  }
}

/**
 * The usage/session cleanup: a timer-driven state machine run as an actor (so
 * ticks never overlap). Follower: try the lease every `lockRetryMs` ± jitter,
 * forever. Leader: every `usageTimeoutMs` renew, then sweep with the lease as a
 * fence. A failed renew or a fenced sweep refused by the backend sends it back to
 * follower — it never exits because Redis or the lock failed (the original loop
 * died for good once its lock was lost).
 */
export class UsageCleanup {
  private readonly lease: Lease;
  private readonly now: () => number;
  /** Reaped instances whose `onDeadInstance` hook has not succeeded yet (retried each cycle). */
  private readonly unsettledDead = new Set<string>();

  constructor(
    private readonly ports: CleanupPorts,
    private readonly options: UsageCleanupOptions,
    private readonly metrics: CleanupMetrics,
    private readonly log: Logger,
    /** Shared by every incarnation of the cleanup actor, so observers survive restarts. */
    readonly events: EventEmitter<CleanupEvents> = new EventEmitter<CleanupEvents>(),
  ) {
    this.now = options.now ?? Date.now;
    this.lease = new Lease(ports.lock, { name: CLEANUP_LOCK_NAME, owner: options.owner, ttlMs: options.lockTimeoutMs, now: this.now }, log);
  }

  get isLeader(): boolean {
    return this.lease.held !== null;
  }

  start(ctx: CleanupContext): void {
    ctx.schedule(0, TICK);
  }

  async tick(ctx: CleanupContext): Promise<void> {
    const next = (await this.step()) ? this.options.usageTimeoutMs : this.jittered(this.options.lockRetryMs);
    ctx.schedule(next, TICK);
  }

  /** One cycle; true while leader. Never throws. */
  private async step(): Promise<boolean> {
    if (this.lease.held) {
      if (!(await this.lease.renew())) return this.lost('renew refused or failed');
    } else {
      let grant;
      try {
        grant = await this.lease.tryAcquire();
      } catch (err) {
        this.log.debug({ err: errorMessage(err) }, 'cleanup lease: backend unavailable, will retry');
        return false;
      }
      if (!grant) return false;
      this.metrics.leader.set(1);
      this.metrics.fence.set(grant.fence);
      this.log.info({ fence: grant.fence }, 'cleanup lease acquired: this instance sweeps');
      this.events.emit('leader', grant.fence);
    }
    try {
      await this.sweep();
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.lease.lose('backend refused a fenced sweep');
        return this.lost('fenced sweep refused');
      }
      this.log.warn({ err: errorMessage(err) }, 'sweep failed; retrying next cycle');
    }
    return this.lease.held !== null || this.lost('lease expired during sweep');
  }

  private lost(reason: string): false {
    this.metrics.leader.set(0);
    this.metrics.fence.set(0);
    this.events.emit('lost', reason);
    return false;
  }

  private async sweep(): Promise<void> {
    const held = this.lease.held;
    if (!held) return;
    const { usage, sessions } = this.ports;
    const { sweepBatch, usageTimeoutMs, sessionTimeoutMs } = this.options;
    const startedAt = this.now();
    const stop = this.metrics.sweepSeconds.startTimer();

    let usageRemoved = 0;
    for (let i = 0; i < MAX_BATCHES_PER_CYCLE && !held.signal.aborted; i++) {
      const n = await usage.sweep(startedAt - usageTimeoutMs, sweepBatch, held.guard);
      usageRemoved += n;
      if (n < sweepBatch) break;
    }
    let sessionsRemoved = 0;
    for (let i = 0; i < MAX_BATCHES_PER_CYCLE && !held.signal.aborted; i++) {
      const sids = await sessions.sweepIdle(startedAt - sessionTimeoutMs, sweepBatch, held.guard);
      await Promise.all(sids.map((sid) => usage.removeSession(sid)));
      sessionsRemoved += sids.length;
      if (sids.length < sweepBatch) break;
    }
    const instancesReaped = held.signal.aborted ? 0 : await this.reapInstances(startedAt);
    stop();
    this.metrics.removed.inc({ pool: 'usage' }, usageRemoved);
    this.metrics.removed.inc({ pool: 'sessions' }, sessionsRemoved);
    this.events.emit('sweep', { owner: this.options.owner, fence: held.fence, startedAt, endedAt: this.now(), usageRemoved, sessionsRemoved, instancesReaped });
  }

  /** Reaps instances whose heartbeat expired and runs the dead-instance hook for each; returns how many were reaped. */
  private async reapInstances(now: number): Promise<number> {
    const { instances } = this.ports;
    if (!instances) return 0;
    const dead = await instances.reapDead(now);
    for (const id of dead) this.unsettledDead.add(id);
    if (dead.length > 0) this.log.info({ instances: dead }, 'reaped instances whose heartbeat expired');
    const hook = this.options.onDeadInstance;
    for (const id of [...this.unsettledDead]) {
      try {
        await hook?.(id);
        this.unsettledDead.delete(id);
      } catch (err) {
        this.log.warn({ instance: id, err: errorMessage(err) }, 'dead-instance cleanup failed; retrying next cycle');
      }
    }
    return dead.length;
  }

  /** Releases the lease (shutdown or actor stop). */
  async stop(): Promise<void> {
    if (await this.lease.release()) this.log.info('cleanup lease released');
    this.metrics.leader.set(0);
    this.metrics.fence.set(0);
  }

  private jittered(ms: number): number {
    return Math.round(ms * (0.75 + Math.random() * 0.5));
  }
}
