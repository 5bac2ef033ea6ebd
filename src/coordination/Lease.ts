import { LeaseLostError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { LeaseGuard, LeaseLock } from './ports.js';

export interface LeaseOptions {
  /** Lock name under the key prefix, e.g. `usage_cleanup_lock`. */
  readonly name: string;
  /** This holder's identity (instance id). */
  readonly owner: string;
  /** Time to live of the lease in ms; it must be renewed well within this. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

/** A lease this process holds right now. `signal` aborts the moment it is known lost. */
export interface HeldLease {
  readonly fence: number;
  readonly signal: AbortSignal;
  readonly guard: LeaseGuard;
}

/**
 * One holder's view of a lease lock: acquire, renew, release, and an AbortSignal
 * that fires when the lease is lost — a failed renew, a renew that errored (the
 * backend is unreachable, so ownership cannot be confirmed), or the local TTL
 * running out before a renew succeeded.
 */
export class Lease {
  private current: { fence: number; controller: AbortController; expiresAt: number; timer: NodeJS.Timeout } | null = null;
  private readonly now: () => number;

  constructor(
    private readonly lock: LeaseLock,
    private readonly options: LeaseOptions,
    private readonly log?: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  get held(): HeldLease | null {
    const c = this.current;
    if (!c) return null;
    if (this.now() >= c.expiresAt) {
      this.lose('expired locally before a renew succeeded');
      return null;
    }
    return { fence: c.fence, signal: c.controller.signal, guard: this.guard };
  }

  get guard(): LeaseGuard {
    return { name: this.options.name, owner: this.options.owner };
  }

  /** Takes the lease when it is free. Backend errors propagate: the caller retries. */
  async tryAcquire(): Promise<HeldLease | null> {
    const existing = this.held;
    if (existing) return existing;
    const startedAt = this.now();
    const grant = await this.lock.acquire(this.options.name, this.options.owner, this.options.ttlMs);
    if (!grant) return null;
    // Count the TTL from before the request: the server's clock started no later.
    this.current = { fence: grant.fence, controller: new AbortController(), expiresAt: 0, timer: undefined as unknown as NodeJS.Timeout };
    this.extendTo(startedAt + this.options.ttlMs);
    return this.held;
  }

  /** Extends the lease; false (and the signal aborted) when it is lost or cannot be confirmed. */
  async renew(): Promise<boolean> {
    if (!this.held) return false;
    const startedAt = this.now();
    let ok: boolean;
    try {
      ok = await this.lock.renew(this.options.name, this.options.owner, this.options.ttlMs);
    } catch (err) {
      this.lose(`renew failed: ${errorMessage(err)}`);
      return false;
    }
    if (!ok) {
      this.lose('another holder has it');
      return false;
    }
    this.extendTo(startedAt + this.options.ttlMs);
    return true;
  }

  /** Gives the lease up (compare-and-delete). Never throws. */
  async release(): Promise<boolean> {
    if (!this.current) return false;
    this.lose('released');
    try {
      return await this.lock.release(this.options.name, this.options.owner);
    } catch (err) {
      this.log?.warn({ err: errorMessage(err), lock: this.options.name }, 'lease release failed; it expires by TTL');
      return false;
    }
  }

  /** Sets the local expiry and a timer that aborts the signal then, even if nobody looks. */
  private extendTo(expiresAt: number): void {
    const c = this.current;
    if (!c) return;
    clearTimeout(c.timer);
    c.expiresAt = expiresAt;
    c.timer = setTimeout(() => {
      if (this.current === c) this.lose('expired locally before a renew succeeded');
    }, Math.max(0, expiresAt - this.now()));
    c.timer.unref();
  }

  /** Marks the lease lost: aborts its signal with LeaseLostError. */
  lose(reason: string): void {
    const c = this.current;
    if (!c) return;
    this.current = null;
    clearTimeout(c.timer);
    if (reason !== 'released') this.log?.warn({ lock: this.options.name, fence: c.fence, reason }, 'lease lost');
    c.controller.abort(new LeaseLostError(this.options.name));
  }
}
