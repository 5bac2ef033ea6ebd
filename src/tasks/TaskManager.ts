import { randomUUID } from 'node:crypto';
import { userRoom } from '../http/rooms.js';
import { EventEmitter } from 'node:events';
import type { ActorSystem } from '../actors/ActorSystem.js';
import type { ActorKind } from '../actors/ActorSystem.js';
import type { MessageBus, TaskRecord, TaskRegistry, Unsubscribe } from '../coordination/ports.js';
import { ConfigError, ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import { ITEM_ACTOR_KIND, registerItemActor, type ItemActorOptions, type ItemHost, type ItemMessage, type ItemReply } from './ItemActor.js';
import { RunningTask } from './RunningTask.js';
import { DEFAULT_STOP_COURIER, StopCourier, type StopCourierOptions } from './StopCourier.js';
import { TASK_COMMANDS_TOPIC, decodeCommand } from './TaskCommands.js';
import { TaskMetrics } from './TaskMetrics.js';
import type { TaskExit, TaskKind, TaskManagerEvents, TaskOutcome, TaskSpec, TaskStatusEvent } from './types.js';

/** Backoff of re-registration retries after a reconnect, ms. */
const REREGISTER_MIN_MS = 250;
const REREGISTER_MAX_MS = 5_000;

export interface TaskManagerOptions {
  /** This instance's id, stored in every task record it registers. */
  readonly instanceId: string;
  /** Default task timeout (config `tasks.timeoutMs`), ms. */
  readonly timeoutMs: number;
  /** Per-item actor settings. @default idle 60 s, mailbox 1000, ask 15 s */
  readonly itemActor?: Partial<ItemActorOptions>;
  /** Re-sending of unconfirmed remote stops. @default DEFAULT_STOP_COURIER */
  readonly stopCourier?: StopCourierOptions;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

export interface TaskManagerDeps {
  readonly registry: TaskRegistry;
  readonly bus: MessageBus;
  readonly actors: ActorSystem;
  /** Sends `{event, data}` to a room on every instance (the gateway's emitToRoom; a no-op without one). */
  readonly emit: (room: string, event: string, data: unknown) => Promise<void>;
  readonly log: Logger;
  readonly metrics?: Registry;
}

/** Where a stop went. */
export interface StopResult {
  /** False when no instance runs such a task. */
  readonly found: boolean;
  /** True when it ran here and this call stopped it; false when it was sent to `instanceId` (or was already stopping). */
  readonly local: boolean;
  readonly instanceId?: string;
}

/** A failed registry removal is retried this often (doubling) until it works or shutdown. */
const UNREGISTER_RETRY = { minMs: 1_000, maxMs: 30_000 } as const;

/**
 * Background tasks of this instance and the cluster-wide view of everyone's: create
 * (through the item's actor when the task has an item), stop wherever it runs, stop
 * all tasks of an item, list. Every exit path — done, failed, cancelled, timed out,
 * shutdown — goes through `finish`, which removes the task from every registry entry.
 */
export class TaskManager implements ItemHost {
  readonly events = new EventEmitter<TaskManagerEvents>();
  private readonly kinds = new Map<string, TaskKind<unknown>>();
  private readonly running = new Map<string, RunningTask>();
  /** Exit handling still in flight (awaited by shutdown). */
  private readonly exiting = new Set<Promise<void>>();
  /** Records whose registry removal failed, retried with backoff. */
  private readonly leftovers = new Map<string, { record: TaskRecord; timer: NodeJS.Timeout | null; delayMs: number }>();
  private readonly items: ActorKind<ItemMessage, ItemReply>;
  private readonly courier: StopCourier;
  private readonly metrics: TaskMetrics;
  private readonly now: () => number;
  private readonly log: Logger;
  private unsubscribe: Unsubscribe | null = null;
  private offConnection: (() => void) | null = null;
  private reregisterTimer: NodeJS.Timeout | null = null;
  private reregisterDelayMs = REREGISTER_MIN_MS;
  private accepting = true;

  constructor(
    private readonly deps: TaskManagerDeps,
    private readonly options: TaskManagerOptions,
  ) {
    if (!(Number.isInteger(options.timeoutMs) && options.timeoutMs > 0)) {
      throw new ConfigError(`tasks.timeoutMs = ${String(options.timeoutMs)} must be an integer > 0`);
    }
    this.log = deps.log;
    this.now = options.now ?? Date.now;
    this.courier = new StopCourier(deps.bus, deps.registry, deps.log, options.stopCourier ?? DEFAULT_STOP_COURIER);
    this.metrics = new TaskMetrics(deps.metrics, () => this.running.size);
    this.items = registerItemActor(deps.actors, this, {
      idleTimeoutMs: 60_000,
      mailboxCapacity: 1_000,
      askTimeoutMs: 15_000,
      ...options.itemActor,
    });
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  /** Adds a task kind; its name is what `POST /api/tasks` `kind` selects. */
  registerKind<I>(kind: TaskKind<I>): this {
    if (this.kinds.has(kind.name)) throw new SwitchyardError(ErrorCode.CONFIG_INVALID, `task kind "${kind.name}" is already registered`);
    this.kinds.set(kind.name, kind as TaskKind<unknown>);
    return this;
  }

  kindNames(): string[] {
    return [...this.kinds.keys()];
  }

  /** Subscribes to stop commands; after a bus reconnect, re-registers what runs here (Redis may have lost it). */
  async start(): Promise<void> {
    this.offConnection = this.deps.bus.onConnectionChange((connected) => {
      if (connected) void this.reregister();
      else this.log.warn('task command bus disconnected; stops from other instances wait for the resubscribe');
    });
    this.unsubscribe = await this.deps.bus.subscribe(TASK_COMMANDS_TOPIC, (payload) => this.onCommand(payload));
  }

  /**
   * Validates the input, registers the task and starts it; resolves with the record
   * once the task is in the registry. A task with an item is created by that item's actor.
   */
  async create(spec: TaskSpec, options: { timeoutMs?: number } = {}): Promise<TaskRecord> {
    if (!this.accepting) throw new SwitchyardError(ErrorCode.SHUTTING_DOWN, 'instance is shutting down; no new tasks');
    const kind = this.kinds.get(spec.kind);
    if (!kind) {
      throw new SwitchyardError(ErrorCode.BAD_REQUEST, `unknown task kind "${spec.kind}"; registered: ${this.kindNames().join(', ') || 'none'}`);
    }
    const parsed: TaskSpec = { ...spec, input: kind.parse(spec.input, spec.itemId) };
    const taskId =
      spec.itemId === null
        ? await this.startLocal(parsed, options.timeoutMs)
        : await this.askItem<string>(spec.itemId, { type: 'create', spec: parsed, timeoutMs: options.timeoutMs });
    return this.running.get(taskId)?.record ?? (await this.find(taskId)) ?? this.placeholder(taskId, parsed);
  }

  /** The task's record: this instance's own first, else the registry's. */
  async find(taskId: string): Promise<TaskRecord | null> {
    return this.running.get(taskId)?.record ?? (await this.deps.registry.get(taskId));
  }

  /** Every registered task, cluster-wide. */
  list(): Promise<TaskRecord[]> {
    return this.deps.registry.list();
  }

  /** Ids of the item's tasks, cluster-wide. */
  listByItem(itemId: string): Promise<string[]> {
    return this.taskIdsOf(itemId);
  }

  /** Tasks running on this instance. */
  localTasks(): TaskRecord[] {
    return [...this.running.values()].map((t) => t.record);
  }

  /** Stops the task wherever it runs (the caller checked the caller's rights on `find`). */
  async stop(taskId: string): Promise<StopResult> {
    const local = this.running.get(taskId);
    if (local) {
      const itemId = local.record.itemId;
      const stopped = itemId === null ? this.stopLocal(taskId) : await this.askItem<boolean>(itemId, { type: 'stop', taskId });
      return { found: true, local: stopped, instanceId: this.instanceId };
    }
    const record = await this.deps.registry.get(taskId);
    if (record === null) return { found: false, local: false };
    await this.stopRemote(record);
    return { found: true, local: false, instanceId: record.instanceId };
  }

  /** Stops every task of the item, each exactly once, through the item's actor; resolves with their ids. */
  stopItem(itemId: string): Promise<string[]> {
    return this.askItem<string[]>(itemId, { type: 'stop-all' });
  }

  /**
   * Shutdown: refuses new tasks, cancels every local one and waits until each has
   * left the registry; then drops the command subscription. The runtime bounds the wait.
   */
  async shutdown(): Promise<void> {
    this.accepting = false;
    for (const task of this.running.values()) task.stop('shutdown');
    await Promise.all([...this.exiting]);
    await Promise.all([...this.leftovers.values()].map(({ record }) => this.unregister(record, false)));
    for (const { timer } of this.leftovers.values()) clearTimeout(timer ?? undefined);
    this.leftovers.clear();
    this.courier.close();
    this.offConnection?.();
    if (this.reregisterTimer) clearTimeout(this.reregisterTimer);
    try {
      await this.unsubscribe?.();
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'task command unsubscribe failed at shutdown');
    }
  }

  /**
   * The cleanup leader found `instanceId` dead (heartbeat expired): drop every task it
   * left in the registry. Our own id means our heartbeat lapsed while we are alive
   * (e.g. a long Redis outage): put our tasks back instead.
   */
  async removeDeadInstance(instanceId: string): Promise<void> {
    if (instanceId === this.instanceId) {
      await this.reregister();
      return;
    }
    const removed = await this.deps.registry.removeByInstance(instanceId);
    if (removed.length > 0) this.log.info({ instance: instanceId, tasks: removed.length }, 'removed the tasks of a dead instance from the registry');
  }

  // ---- ItemHost: called inside an item actor's turn (or directly for tasks without an item) ----

  async startLocal(spec: TaskSpec, timeoutMs?: number): Promise<string> {
    if (!this.accepting) throw new SwitchyardError(ErrorCode.SHUTTING_DOWN, 'instance is shutting down; no new tasks');
    const kind = this.kinds.get(spec.kind);
    if (!kind) throw new SwitchyardError(ErrorCode.BAD_REQUEST, `unknown task kind "${spec.kind}"`);
    const record: TaskRecord = Object.freeze({
      taskId: randomUUID(),
      itemId: spec.itemId,
      ownerId: spec.ownerId,
      instanceId: this.instanceId,
      kind: spec.kind,
      status: 'running',
      createdAt: this.now(),
    });
    const log = this.log.child({ task: record.taskId, kind: record.kind });
    const task = new RunningTask(record, kind, spec.input, timeoutMs ?? kind.timeoutMs ?? this.options.timeoutMs, log, this.ownerEmitter(record, log), this.now);
    // In the map before the registry write, so a stop arriving meanwhile finds it.
    this.running.set(record.taskId, task);
    try {
      await this.deps.registry.add(record);
    } catch (err) {
      this.running.delete(record.taskId);
      throw err;
    }
    this.metrics.created.inc({ kind: record.kind });
    this.events.emit('created', record);
    await this.emitStatus(record, 'created');
    const exit = this.finish(task);
    this.exiting.add(exit);
    void exit.finally(() => this.exiting.delete(exit));
    return record.taskId;
  }

  stopLocal(taskId: string): boolean {
    return this.running.get(taskId)?.stop('stopped') ?? false;
  }

  async taskIdsOf(itemId: string): Promise<string[]> {
    const ids = new Set(await this.deps.registry.listByItem(itemId));
    for (const task of this.running.values()) if (task.record.itemId === itemId) ids.add(task.taskId);
    return [...ids];
  }

  async stopAnywhere(taskId: string): Promise<'stopped' | 'sent' | 'none'> {
    if (this.running.has(taskId)) return this.stopLocal(taskId) ? 'stopped' : 'none';
    const record = await this.deps.registry.get(taskId);
    if (record === null || record.instanceId === this.instanceId) {
      if (record) await this.deps.registry.remove(record); // ours but not running: a leftover
      return 'none';
    }
    await this.stopRemote(record);
    return 'sent';
  }

  // ---- internals ----

  private async stopRemote(record: TaskRecord): Promise<void> {
    if (record.instanceId === this.instanceId) {
      // Ours but not running: a leftover of a failed removal. Nothing to stop; clean it.
      await this.deps.registry.remove(record);
      return;
    }
    await this.courier.send(record.taskId);
    this.metrics.stopCommands.inc({ direction: 'sent' });
  }

  /** Runs the task to its end, then removes it from the registry and tells its owner. The only exit path. */
  private async finish(task: RunningTask): Promise<void> {
    const exit: TaskExit = await task.run();
    const { record } = exit;
    this.running.delete(record.taskId);
    await this.unregister(record, true);
    this.metrics.finished.inc({ kind: record.kind, status: exit.status });
    this.metrics.duration.observe({ kind: record.kind }, exit.durationMs / 1000);
    this.events.emit('exit', exit);
    if (exit.status === 'failed') this.log.info({ task: record.taskId, kind: record.kind, error: exit.error }, 'task failed');
    await this.emitStatus(record, exit.status, exit.error);
  }

  /** Removes the record; on failure keeps retrying with backoff (when `retry`) so no entry is left behind. */
  private async unregister(record: TaskRecord, retry: boolean): Promise<void> {
    try {
      await this.deps.registry.remove(record);
      const left = this.leftovers.get(record.taskId);
      if (left) clearTimeout(left.timer ?? undefined);
      this.leftovers.delete(record.taskId);
    } catch (err) {
      if (!retry) return;
      const left = this.leftovers.get(record.taskId) ?? { record, timer: null, delayMs: UNREGISTER_RETRY.minMs };
      this.leftovers.set(record.taskId, left);
      this.log.warn({ task: record.taskId, err: errorMessage(err), retryInMs: left.delayMs }, 'could not remove a finished task from the registry; retrying');
      left.timer = setTimeout(() => void this.unregister(record, true), left.delayMs);
      left.timer.unref();
      left.delayMs = Math.min(left.delayMs * 2, UNREGISTER_RETRY.maxMs);
    }
  }

  private onCommand(payload: string): void {
    const command = decodeCommand(payload);
    if (command === null) {
      this.log.debug({ bytes: payload.length }, 'ignored a malformed task command');
      return;
    }
    const task = this.running.get(command.task_id);
    if (!task) return; // another instance's task, or already ended
    this.metrics.stopCommands.inc({ direction: 'received' });
    this.events.emit('stop-received', task.taskId);
    const itemId = task.record.itemId;
    if (itemId === null) {
      this.stopLocal(task.taskId);
      return;
    }
    try {
      this.items.tell(itemId, { type: 'stop', taskId: task.taskId });
    } catch {
      // Mailbox full or actors shutting down: the stop must still happen.
      this.stopLocal(task.taskId);
    }
  }

  /**
   * After a reconnect the registry may be empty (Redis restarted without persistence):
   * put ours back. The bus connection can come back before the command connection,
   * so a failed write is retried with backoff (250 ms doubling to 5 s) until it lands
   * or the manager shuts down — one failed attempt must not leave our tasks unstoppable.
   */
  private async reregister(): Promise<void> {
    if (this.reregisterTimer) clearTimeout(this.reregisterTimer);
    this.reregisterTimer = null;
    const tasks = [...this.running.values()];
    if (tasks.length === 0 || !this.accepting) return;
    let restored = 0;
    for (const task of tasks) {
      try {
        await this.deps.registry.add(task.record);
        // It may have ended while the write was in flight; its removal must win.
        if (!this.running.has(task.taskId)) await this.deps.registry.remove(task.record);
        else restored += 1;
      } catch (err) {
        const delay = this.reregisterDelayMs;
        this.reregisterDelayMs = Math.min(delay * 2, REREGISTER_MAX_MS);
        this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'could not re-register running tasks after a reconnect; retrying');
        this.reregisterTimer = setTimeout(() => void this.reregister(), delay);
        this.reregisterTimer.unref();
        return;
      }
    }
    this.reregisterDelayMs = REREGISTER_MIN_MS;
    this.log.info({ tasks: restored }, 'running tasks re-registered after the bus reconnected');
  }

  private async askItem<T>(itemId: string, msg: ItemMessage): Promise<T> {
    const reply = await this.items.ask(itemId, msg);
    if (!reply.ok) throw reply.error;
    return reply.value as T;
  }

  private ownerEmitter(record: TaskRecord, log: Logger): (event: string, data: unknown) => Promise<void> {
    let warned = false;
    return async (event, data) => {
      try {
        await this.deps.emit(userRoom(record.ownerId), event, data);
      } catch (err) {
        if (!warned) log.warn({ err: errorMessage(err) }, 'task output not delivered to other instances (bus unavailable)');
        warned = true;
      }
    };
  }

  private async emitStatus(record: TaskRecord, status: 'created' | TaskOutcome, error?: TaskExit['error']): Promise<void> {
    const data: TaskStatusEvent = { task_id: record.taskId, item_id: record.itemId, kind: record.kind, status, ...(error ? { error } : {}) };
    try {
      await this.deps.emit(userRoom(record.ownerId), 'task:status', data);
    } catch (err) {
      this.log.debug({ task: record.taskId, status, err: errorMessage(err) }, 'task:status not delivered to other instances');
    }
  }

  /** A task so short it already left the registry when create returned. */
  private placeholder(taskId: string, spec: TaskSpec): TaskRecord {
    return { taskId, itemId: spec.itemId, ownerId: spec.ownerId, instanceId: this.instanceId, kind: spec.kind, status: 'running', createdAt: this.now() };
  }
}

export { ITEM_ACTOR_KIND };
