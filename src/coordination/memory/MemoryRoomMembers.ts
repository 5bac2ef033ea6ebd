import type { RoomMembers } from '../RoomMembers.js';

/** RoomMembers in one process: two maps of sets, room → users and user → rooms. */
export class MemoryRoomMembers implements RoomMembers {
  private readonly byRoom = new Map<string, Set<string>>();
  private readonly byUser = new Map<string, Set<string>>();

  async add(room: string, userId: string): Promise<boolean> {
    const added = addTo(this.byRoom, room, userId);
    addTo(this.byUser, userId, room);
    return added;
  }

  async remove(room: string, userId: string): Promise<boolean> {
    const removed = removeFrom(this.byRoom, room, userId);
    removeFrom(this.byUser, userId, room);
    return removed;
  }

  async isMember(room: string, userId: string): Promise<boolean> {
    return this.byRoom.get(room)?.has(userId) === true;
  }

  async members(room: string): Promise<string[]> {
    return [...(this.byRoom.get(room) ?? [])].sort();
  }

  async roomsOf(userId: string): Promise<string[]> {
    return [...(this.byUser.get(userId) ?? [])].sort();
  }
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): boolean {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  if (set.has(value)) return false;
  set.add(value);
  return true;
}

function removeFrom(map: Map<string, Set<string>>, key: string, value: string): boolean {
  const set = map.get(key);
  if (!set?.delete(value)) return false;
  if (set.size === 0) map.delete(key);
  return true;
}
