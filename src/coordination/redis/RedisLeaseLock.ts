import { assertTtl, type LeaseGrant, type LeaseHolderInfo, type LeaseLock } from '../ports.js';
import { call } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';

/**
 * `<prefix>:<name>` holds the owner with a PX expiry; `<prefix>:<name>:fence` counts
 * acquisitions. Acquire, renew and release are scripts so each check-and-write is atomic.
 */
export class RedisLeaseLock implements LeaseLock {
  constructor(
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
  ) {}

  async acquire(name: string, owner: string, ttlMs: number): Promise<LeaseGrant | null> {
    assertTtl(ttlMs);
    const fence = await call(this.scripts.client, 'lock.acquire', () => this.scripts.run('lockAcquire', [this.keys.lock(name), this.keys.fence(name)], [owner, ttlMs]));
    return typeof fence === 'number' ? { fence } : null;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    return (await call(this.scripts.client, 'lock.renew', () => this.scripts.run('lockRenew', [this.keys.lock(name)], [owner, ttlMs]))) === 1;
  }

  async release(name: string, owner: string): Promise<boolean> {
    return (await call(this.scripts.client, 'lock.release', () => this.scripts.run('lockRelease', [this.keys.lock(name)], [owner]))) === 1;
  }

  async holder(name: string): Promise<LeaseHolderInfo | null> {
    const reply = await call(this.scripts.client, 'lock.holder', () => this.scripts.run('lockHolder', [this.keys.lock(name), this.keys.fence(name)], []));
    if (!Array.isArray(reply)) return null;
    const [owner, fence, ttlMs] = reply as [string, number, number];
    return { owner, fence, ttlMs };
  }
}

/** PX takes a positive integer; fail here with the value rather than with a Redis syntax error. */
