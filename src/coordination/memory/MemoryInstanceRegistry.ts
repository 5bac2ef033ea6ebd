import type { InstanceInfo, InstanceRegistry } from '../ports.js';
import { TimeIndex } from './TimeIndex.js';

/** Instances of one process (normally just itself), indexed by heartbeat expiry. */
export class MemoryInstanceRegistry implements InstanceRegistry {
  private readonly info = new Map<string, InstanceInfo>();
  private readonly expiries = new TimeIndex<string>();

  async heartbeat(info: InstanceInfo, ttlMs: number, now: number): Promise<void> {
    this.info.set(info.instanceId, Object.freeze({ ...info }));
    this.expiries.set(info.instanceId, now + ttlMs);
  }

  async listLive(now: number): Promise<InstanceInfo[]> {
    const live: InstanceInfo[] = [];
    for (const [id, expiresAt] of this.expiries.entries()) {
      const info = this.info.get(id);
      if (expiresAt > now && info) live.push(info);
    }
    return live;
  }

  async reapDead(now: number): Promise<string[]> {
    const dead = this.expiries.take(Number.POSITIVE_INFINITY, (expiresAt) => expiresAt <= now);
    for (const id of dead) this.info.delete(id);
    return dead;
  }

  async remove(instanceId: string): Promise<void> {
    this.info.delete(instanceId);
    this.expiries.delete(instanceId);
  }
}
