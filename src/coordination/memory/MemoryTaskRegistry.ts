import type { TaskRecord, TaskRegistry } from '../ports.js';

/** Task registry of one process: a map plus per-item, per-owner and per-instance id sets. */
export class MemoryTaskRegistry implements TaskRegistry {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly byItem = new Map<string, Set<string>>();
  private readonly byInstance = new Map<string, Set<string>>();
  private readonly byOwner = new Map<string, Set<string>>();

  async add(task: TaskRecord): Promise<void> {
    this.put(task);
  }

  async addWithinLimit(task: TaskRecord, limit: number, alsoRunning: readonly string[]): Promise<boolean> {
    const owned = this.byOwner.get(task.ownerId);
    const count = new Set([...(owned ?? []), ...alsoRunning, task.taskId]).size;
    if (count > limit) return false;
    this.put(task); // in the same synchronous step as the count
    return true;
  }

  async remove(task: Pick<TaskRecord, 'taskId' | 'itemId' | 'instanceId'>): Promise<void> {
    // The stored record names the owner even when the caller did not.
    this.unlink(this.tasks.get(task.taskId) ?? task);
  }

  async get(taskId: string): Promise<TaskRecord | null> {
    return this.tasks.get(taskId) ?? null;
  }

  async list(): Promise<TaskRecord[]> {
    return [...this.tasks.values()];
  }

  async listByItem(itemId: string): Promise<string[]> {
    return [...(this.byItem.get(itemId) ?? [])];
  }

  async listByOwner(ownerId: string): Promise<string[]> {
    return [...(this.byOwner.get(ownerId) ?? [])];
  }

  async removeByInstance(instanceId: string): Promise<string[]> {
    const ids = [...(this.byInstance.get(instanceId) ?? [])];
    for (const taskId of ids) {
      const task = this.tasks.get(taskId);
      this.unlink(task ?? { taskId, itemId: null, instanceId });
    }
    return ids;
  }

  private put(task: TaskRecord): void {
    const prev = this.tasks.get(task.taskId);
    if (prev) this.unlink(prev);
    this.tasks.set(task.taskId, Object.freeze({ ...task }));
    if (task.itemId !== null) addTo(this.byItem, task.itemId, task.taskId);
    addTo(this.byInstance, task.instanceId, task.taskId);
    addTo(this.byOwner, task.ownerId, task.taskId);
  }

  private unlink(task: Pick<TaskRecord, 'taskId' | 'itemId' | 'instanceId'> & { readonly ownerId?: string }): void {
    this.tasks.delete(task.taskId);
    if (task.itemId !== null) removeFrom(this.byItem, task.itemId, task.taskId);
    removeFrom(this.byInstance, task.instanceId, task.taskId);
    if (task.ownerId !== undefined) removeFrom(this.byOwner, task.ownerId, task.taskId);
  }
}

function addTo(index: Map<string, Set<string>>, key: string, id: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(id);
}

function removeFrom(index: Map<string, Set<string>>, key: string, id: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) index.delete(key);
}
