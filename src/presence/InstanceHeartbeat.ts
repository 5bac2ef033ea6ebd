import { hostname } from 'node:os';
import { errorMessage } from '../errors.js';
import type { InstanceInfo, InstanceRegistry } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';

export interface HeartbeatOptions {
  readonly instanceId: string;
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  /** Extra figures published with each beat (connections, …). */
  readonly stats?: () => Record<string, number>;
  readonly now?: () => number;
}

export type HeartbeatMessage = { readonly type: 'beat' };
const BEAT: HeartbeatMessage = Object.freeze({ type: 'beat' });

export interface HeartbeatContext {
  schedule(delayMs: number, msg: HeartbeatMessage): () => void;
}

/**
 * Keeps this instance in the cluster's instance registry: a beat every
 * `heartbeatMs` with a TTL of `ttlMs`. A missed beat (Redis down) is logged and
 * retried on the next period; the instance counts as dead to others only once its TTL lapses.
 */
export class InstanceHeartbeat {
  private readonly startedAt: number;
  private readonly now: () => number;
  private failing = false;

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly options: HeartbeatOptions,
    private readonly log: Logger,
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  info(): InstanceInfo {
    return { instanceId: this.options.instanceId, host: hostname(), pid: process.pid, startedAt: this.startedAt, stats: this.options.stats?.() };
  }

  start(ctx: HeartbeatContext): void {
    ctx.schedule(0, BEAT);
  }

  async beat(ctx: HeartbeatContext): Promise<void> {
    try {
      await this.registry.heartbeat(this.info(), this.options.ttlMs, this.now());
      if (this.failing) this.log.info('instance heartbeat restored');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err: errorMessage(err) }, 'instance heartbeat failed; retrying every period');
      this.failing = true;
    }
    ctx.schedule(this.options.heartbeatMs, BEAT);
  }

  /** Leaves the registry at once on a clean shutdown, so others need not wait for the TTL. */
  async stop(): Promise<void> {
    try {
      await this.registry.remove(this.options.instanceId);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not deregister instance; it expires by TTL');
    }
  }
}
