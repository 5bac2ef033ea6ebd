import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { TaskRecord } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';
import { emitStatus, type RoomEmit } from './ownerEvents.js';
import type { RegistrySync } from './RegistrySync.js';
import { RunningTask } from './RunningTask.js';
import type { TaskMetrics } from './TaskMetrics.js';
import type { TaskExit, TaskKind, TaskManagerEvents, TaskSpec } from './types.js';

export interface LocalTasksDeps {
  readonly instanceId: string;
  readonly sync: RegistrySync;
  readonly emit: RoomEmit;
  readonly events: EventEmitter<TaskManagerEvents>;
  readonly metrics: TaskMetrics;
  readonly log: Logger;
  readonly now: () => number;
}

/**
 * The tasks running on this instance, from admission to exit. `start` puts a task in
 * the map before its registry write (a stop arriving meanwhile finds it) and runs it;
 * `finish` is the only exit path: it removes the task from the map and from every
 * registry entry, counts it and tells the owner how it ended.
 */
export class LocalTasks {
  private readonly running = new Map<string, RunningTask>();
  /** Owner → ids of their admitted tasks in `running`. */
  private readonly byOwner = new Map<string, Set<string>>();
  /** Exit handling still in flight (awaited by shutdown); each entry removes itself when done. */
  private readonly exiting = new Map<RunningTask, Promise<void>>();

  constructor(private readonly deps: LocalTasksDeps) {}

  get size(): number {
    return this.running.size;
  }

  get(taskId: string): TaskRecord | undefined {
    return this.running.get(taskId)?.record;
  }

  has(taskId: string): boolean {
    return this.running.has(taskId);
  }

  records(): TaskRecord[] {
    return [...this.running.values()].map((t) => t.record);
  }

  /** Admits (registry write within the per-owner limit) and starts the task; resolves with its record once it is registered. */
  async start(spec: TaskSpec, kind: TaskKind<unknown>, timeoutMs: number): Promise<TaskRecord> {
    const { deps } = this;
    const record: TaskRecord = Object.freeze({
      taskId: randomUUID(),
      itemId: spec.itemId,
      ownerId: spec.ownerId,
      instanceId: deps.instanceId,
      kind: spec.kind,
      status: 'running',
      createdAt: deps.now(),
    });
    const task = new RunningTask(record, kind, spec.input, timeoutMs, deps.log, deps.emit, deps.now);
    // In the map before the registry write, so a stop arriving meanwhile finds it.
    this.running.set(record.taskId, task);
    try {
      await deps.sync.admit(record, this.admittedOf(record.ownerId));
    } catch (err) {
      this.running.delete(record.taskId);
      throw err;
    }
    this.index(record, true);
    deps.metrics.created.inc({ kind: record.kind });
    deps.events.emit('created', record);
    // Not awaited: the create is answered once the task is registered. Order still holds —
    // the outcome's event is queued after this one on the same bus connection.
    void emitStatus(deps.emit, deps.log, record, 'created');
    this.exiting.set(task, this.finish(task));
    return record;
  }

  /** Stops the task if `ownerId` owns it; true only for the call that stopped it. */
  stop(taskId: string, ownerId: string): boolean {
    const task = this.running.get(taskId);
    return task !== undefined && task.record.ownerId === ownerId && task.stop('stopped');
  }

  /** Shutdown: cancels every task and resolves once each has left the registry. */
  async stopAll(): Promise<void> {
    for (const task of this.running.values()) task.stop('shutdown');
    await Promise.all([...this.exiting.values()]);
  }

  /** Ids of the owner's tasks here that passed admission (counted by the limit even if the registry lost them). */
  private admittedOf(ownerId: string): string[] {
    const ids = this.byOwner.get(ownerId);
    return ids ? [...ids] : [];
  }

  private index(record: TaskRecord, admitted: boolean): void {
    let ids = this.byOwner.get(record.ownerId);
    if (admitted) {
      if (!ids) this.byOwner.set(record.ownerId, (ids = new Set()));
      ids.add(record.taskId);
    } else if (ids?.delete(record.taskId) && ids.size === 0) {
      this.byOwner.delete(record.ownerId);
    }
  }

  /** The exit path; never rejects (run does not, remove retries on its own, emitStatus logs). */
  private async finish(task: RunningTask): Promise<void> {
    const { deps } = this;
    try {
      const exit: TaskExit = await task.run();
      const { record } = exit;
      this.running.delete(record.taskId);
      this.index(record, false);
      await deps.sync.remove(record);
      deps.metrics.finished.inc({ kind: record.kind, status: exit.status });
      deps.metrics.duration.observe({ kind: record.kind }, exit.durationMs / 1000);
      deps.events.emit('exit', exit);
      if (exit.status === 'failed') deps.log.info({ task: record.taskId, kind: record.kind, error: exit.error }, 'task failed');
      await emitStatus(deps.emit, deps.log, record, exit.status, exit.error);
    } finally {
      this.exiting.delete(task);
    }
  }
}
