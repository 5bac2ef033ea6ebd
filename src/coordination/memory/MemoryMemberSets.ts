import type { MemberSets } from '../ports.js';

/** MemberSets in one process: a map of member → last seen per set. */
export class MemoryMemberSets implements MemberSets {
  private readonly sets = new Map<string, Map<string, number>>();

  async add(set: string, member: string, now: number): Promise<void> {
    let members = this.sets.get(set);
    if (!members) this.sets.set(set, (members = new Map()));
    members.set(member, now);
  }

  async remove(set: string, member: string): Promise<void> {
    const members = this.sets.get(set);
    if (!members) return;
    members.delete(member);
    if (members.size === 0) this.sets.delete(set);
  }

  async members(set: string, now: number, ttlMs: number): Promise<string[]> {
    const members = this.sets.get(set);
    if (!members) return [];
    for (const [member, seen] of members) if (seen < now - ttlMs) members.delete(member);
    if (members.size === 0) this.sets.delete(set);
    return [...members.keys()].sort();
  }

  async close(): Promise<void> {
    this.sets.clear();
  }
}
