import { assertTtl, type LeaseGrant, type LeaseGuard, type LeaseHolderInfo, type LeaseLock } from '../ports.js';

interface Held {
  readonly owner: string;
  expiresAt: number;
}

/**
 * Lease lock for one process. TTLs run on the wall clock (Date.now()), like the
 * PX expiry of the Redis adapter, so the Lease holder's local expiry agrees.
 */
export class MemoryLeaseLock implements LeaseLock {
  private readonly held = new Map<string, Held>();
  /** Never reset, so a fence stays strictly increasing across every acquisition. */
  private readonly fences = new Map<string, number>();

  async acquire(name: string, owner: string, ttlMs: number): Promise<LeaseGrant | null> {
    assertTtl(ttlMs);
    if (this.live(name)) return null;
    const fence = (this.fences.get(name) ?? 0) + 1;
    this.fences.set(name, fence);
    this.held.set(name, { owner, expiresAt: Date.now() + ttlMs });
    return { fence };
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    const h = this.live(name);
    if (!h || h.owner !== owner) return false;
    h.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async release(name: string, owner: string): Promise<boolean> {
    const h = this.live(name);
    if (!h || h.owner !== owner) return false;
    this.held.delete(name);
    return true;
  }

  async holder(name: string): Promise<LeaseHolderInfo | null> {
    const h = this.live(name);
    if (!h) return null;
    return { owner: h.owner, fence: this.fences.get(name) ?? 0, ttlMs: h.expiresAt - Date.now() };
  }

  /** The fence check of a guarded sweep; synchronous so the check and the write cannot interleave. */
  holds(guard: LeaseGuard): boolean {
    return this.live(guard.name)?.owner === guard.owner;
  }

  private live(name: string): Held | undefined {
    const h = this.held.get(name);
    if (h && h.expiresAt <= Date.now()) {
      this.held.delete(name);
      return undefined;
    }
    return h;
  }
}
