import { EventEmitter } from 'node:events';
import type { ActorSystem } from '../actors/ActorSystem.js';
import type { ActorKind } from '../actors/ActorSystem.js';
import type { MessageBus, TaskRecord, TaskRegistry, Unsubscribe } from '../coordination/ports.js';
import { ConfigError, ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import { ITEM_ACTOR_KIND, itemActorKey, registerItemActor, type ItemActorOptions, type ItemHost, type ItemMessage, type ItemReply } from './ItemActor.js';
import { LocalTasks } from './LocalTasks.js';
import type { RoomEmit } from './ownerEvents.js';
import { RegistrySync } from './RegistrySync.js';
import { DEFAULT_STOP_COURIER, StopCourier, type StopCourierOptions } from './StopCourier.js';
import { TASK_COMMANDS_TOPIC, decodeCommand } from './TaskCommands.js';
import { TaskMetrics } from './TaskMetrics.js';
import type { TaskKind, TaskManagerEvents, TaskSpec } from './types.js';

export interface TaskManagerOptions {
  /** This instance's id, stored in every task record it registers. */
  readonly instanceId: string;
  /** Default task timeout (config `tasks.timeoutMs`), ms. */
  readonly timeoutMs: number;
  /** Running tasks per owner, every instance together (config `tasks.maxPerUser`). @default 32 */
  readonly maxPerUser?: number;
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
  readonly emit: RoomEmit;
  readonly log: Logger;
  readonly metrics?: Registry;
}

/** Where a stop went. */
export interface StopResult {
  /** False when no instance runs such a task (of that owner, when one was named). */
  readonly found: boolean;
  /** True when it ran here and this call stopped it; false when it was sent to `instanceId` (or was already stopping). */
  readonly local: boolean;
  readonly instanceId?: string;
}

export const DEFAULT_MAX_TASKS_PER_USER = 32;
/** A create refused by the per-user limit is told to come back after this long, s. */
const QUOTA_RETRY_AFTER_SEC = 5;

/**
 * Background tasks of this instance and the cluster-wide view of everyone's: create
 * (through the owner's item actor when the task has an item), stop wherever it runs,
 * stop all of an owner's tasks of an item, list. The parts: LocalTasks (what runs
 * here, and the one exit path that removes a task from every registry entry),
 * RegistrySync (per-user limit, retried removals, re-registration), ItemActor (the
 * per-(owner, item) turns), StopCourier (stops for other instances).
 */
export class TaskManager implements ItemHost {
  readonly events = new EventEmitter<TaskManagerEvents>();
  private readonly kinds = new Map<string, TaskKind<unknown>>();
  private readonly local: LocalTasks;
  private readonly items: ActorKind<ItemMessage, ItemReply>;
  private readonly courier: StopCourier;
  private readonly sync: RegistrySync;
  private readonly metrics: TaskMetrics;
  private readonly log: Logger;
  private unsubscribe: Unsubscribe | null = null;
  private offConnection: (() => void) | null = null;
  private accepting = true;

  constructor(
    private readonly deps: TaskManagerDeps,
    private readonly options: TaskManagerOptions,
  ) {
    if (!(Number.isInteger(options.timeoutMs) && options.timeoutMs > 0)) {
      throw new ConfigError(`tasks.timeoutMs = ${String(options.timeoutMs)} must be an integer > 0`);
    }
    const maxPerOwner = options.maxPerUser ?? DEFAULT_MAX_TASKS_PER_USER;
    if (!(Number.isInteger(maxPerOwner) && maxPerOwner > 0)) throw new ConfigError(`tasks.maxPerUser = ${String(maxPerOwner)} must be an integer > 0`);
    this.log = deps.log;
    this.courier = new StopCourier(deps.bus, deps.registry, deps.log, options.stopCourier ?? DEFAULT_STOP_COURIER);
    this.sync = new RegistrySync(deps.registry, { maxPerOwner, quotaRetryAfterSec: QUOTA_RETRY_AFTER_SEC }, deps.log);
    this.metrics = new TaskMetrics(deps.metrics, () => this.local.size);
    this.local = new LocalTasks({
      instanceId: options.instanceId,
      sync: this.sync,
      emit: deps.emit,
      events: this.events,
      metrics: this.metrics,
      log: deps.log,
      now: options.now ?? Date.now,
    });
    this.items = registerItemActor(deps.actors, this, { idleTimeoutMs: 60_000, mailboxCapacity: 1_000, askTimeoutMs: 15_000, ...options.itemActor });
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
      if (connected) this.restore();
      else this.log.warn('task command bus disconnected; stops from other instances wait for the resubscribe');
    });
    this.unsubscribe = await this.deps.bus.subscribe(TASK_COMMANDS_TOPIC, (payload) => this.onCommand(payload));
  }

  /**
   * Validates the input, registers the task and starts it; resolves with the record
   * once the task is in the registry. A task with an item is created by its owner's
   * actor for that item. Throws TaskQuotaError when the owner runs too many.
   */
  async create(spec: TaskSpec, options: { timeoutMs?: number } = {}): Promise<TaskRecord> {
    if (!this.accepting) throw new SwitchyardError(ErrorCode.SHUTTING_DOWN, 'instance is shutting down; no new tasks');
    const kind = this.kinds.get(spec.kind);
    if (!kind) {
      throw new SwitchyardError(ErrorCode.BAD_REQUEST, `unknown task kind "${spec.kind}"; registered: ${this.kindNames().join(', ') || 'none'}`);
    }
    const parsed: TaskSpec = { ...spec, input: kind.parse(spec.input, spec.itemId) };
    return spec.itemId === null
      ? this.startLocal(parsed, options.timeoutMs)
      : this.askItem<TaskRecord>(spec.ownerId, spec.itemId, { type: 'create', spec: parsed, timeoutMs: options.timeoutMs });
  }

  /** The task's record: this instance's own first, else the registry's. */
  async find(taskId: string): Promise<TaskRecord | null> {
    return this.local.get(taskId) ?? (await this.deps.registry.get(taskId));
  }

  /** Every registered task, cluster-wide. */
  list(): Promise<TaskRecord[]> {
    return this.deps.registry.list();
  }

  /** Ids of the item's tasks of `ownerId`, cluster-wide; without an owner, every owner's (the admin view). */
  async listByItem(itemId: string, ownerId?: string): Promise<string[]> {
    if (ownerId !== undefined) return this.taskIdsOf(itemId, ownerId);
    const ids = new Set(await this.deps.registry.listByItem(itemId));
    for (const record of this.local.records()) if (record.itemId === itemId) ids.add(record.taskId);
    return [...ids];
  }

  /** Tasks running on this instance. */
  localTasks(): TaskRecord[] {
    return this.local.records();
  }

  /**
   * Stops the task wherever it runs. With `ownerId`, only a task of that owner: the
   * check is made inside the owner's item actor turn that stops it.
   */
  async stop(taskId: string, ownerId?: string): Promise<StopResult> {
    const record = await this.find(taskId);
    return record === null ? { found: false, local: false } : this.stopFound(record, ownerId);
  }

  /**
   * `stop` for a record the caller just had from `find`, without reading the registry
   * again (a record's owner and instance never change). The owner is still checked in
   * the item turn that stops a local task; a remote one is stopped by its instance.
   */
  async stopFound(record: TaskRecord, ownerId?: string): Promise<StopResult> {
    if (ownerId !== undefined && record.ownerId !== ownerId) return { found: false, local: false };
    const { taskId, itemId } = record;
    if (this.local.has(taskId)) {
      const owner = ownerId ?? record.ownerId;
      const stopped = itemId === null ? this.stopLocal(taskId, owner) : await this.askItem<boolean>(owner, itemId, { type: 'stop', taskId });
      return { found: true, local: stopped, instanceId: this.instanceId };
    }
    await this.stopRemote(record);
    return { found: true, local: false, instanceId: record.instanceId };
  }

  /**
   * Stops the item's tasks of `ownerId`, each exactly once, in that owner's item actor;
   * without an owner (admin), every owner's, each owner's in its own actor. Resolves
   * with the ids this call stopped or signalled.
   */
  async stopItem(itemId: string, ownerId?: string): Promise<string[]> {
    const owners = ownerId !== undefined ? [ownerId] : await this.ownersOf(itemId);
    const stopped = await Promise.all(owners.map((owner) => this.askItem<string[]>(owner, itemId, { type: 'stop-all' })));
    return stopped.flat();
  }

  /**
   * Shutdown: refuses new tasks, cancels every local one and waits until each has
   * left the registry; then drops the command subscription. The runtime bounds the wait.
   */
  async shutdown(): Promise<void> {
    this.accepting = false;
    await this.local.stopAll();
    await this.sync.close();
    this.courier.close();
    this.offConnection?.();
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
      this.restore();
      return;
    }
    const removed = await this.deps.registry.removeByInstance(instanceId);
    if (removed.length > 0) this.log.info({ instance: instanceId, tasks: removed.length }, 'removed the tasks of a dead instance from the registry');
  }

  // ---- ItemHost: called inside an item actor's turn (or directly for tasks without an item) ----

  async startLocal(spec: TaskSpec, timeoutMs?: number): Promise<TaskRecord> {
    if (!this.accepting) throw new SwitchyardError(ErrorCode.SHUTTING_DOWN, 'instance is shutting down; no new tasks');
    const kind = this.kinds.get(spec.kind);
    if (!kind) throw new SwitchyardError(ErrorCode.BAD_REQUEST, `unknown task kind "${spec.kind}"`);
    return this.local.start(spec, kind, timeoutMs ?? kind.timeoutMs ?? this.options.timeoutMs);
  }

  stopLocal(taskId: string, ownerId: string): boolean {
    return this.local.stop(taskId, ownerId);
  }

  async taskIdsOf(itemId: string, ownerId: string): Promise<string[]> {
    const [ofItem, ofOwner] = await Promise.all([this.deps.registry.listByItem(itemId), this.deps.registry.listByOwner(ownerId)]);
    const owned = new Set(ofOwner);
    const ids = new Set(ofItem.filter((id) => owned.has(id)));
    for (const record of this.local.records()) if (record.itemId === itemId && record.ownerId === ownerId) ids.add(record.taskId);
    return [...ids];
  }

  async stopAnywhere(taskId: string, ownerId: string): Promise<'stopped' | 'sent' | 'none'> {
    if (this.local.has(taskId)) return this.stopLocal(taskId, ownerId) ? 'stopped' : 'none';
    const record = await this.deps.registry.get(taskId);
    if (record === null || record.ownerId !== ownerId) return 'none';
    if (record.instanceId === this.instanceId) {
      await this.deps.registry.remove(record); // ours but not running: a leftover
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

  /** Everyone with a task on the item (registry plus this instance), for an admin's stop-all. */
  private async ownersOf(itemId: string): Promise<string[]> {
    const owners = new Set<string>();
    const remote = new Set(await this.deps.registry.listByItem(itemId));
    for (const record of this.local.records()) {
      if (record.itemId !== itemId) continue;
      owners.add(record.ownerId);
      remote.delete(record.taskId);
    }
    for (const record of await Promise.all([...remote].map((id) => this.deps.registry.get(id)))) if (record) owners.add(record.ownerId);
    return [...owners];
  }

  private onCommand(payload: string): void {
    const command = decodeCommand(payload);
    if (command === null) {
      this.log.debug({ bytes: payload.length }, 'ignored a malformed task command');
      return;
    }
    const task = this.local.get(command.task_id);
    if (!task) return; // another instance's task, or already ended
    this.metrics.stopCommands.inc({ direction: 'received' });
    this.events.emit('stop-received', task.taskId);
    const { taskId, itemId, ownerId } = task;
    if (itemId === null) {
      this.stopLocal(taskId, ownerId);
      return;
    }
    try {
      this.items.tell(itemActorKey(ownerId, itemId), { type: 'stop', taskId });
    } catch {
      // Mailbox full or actors shutting down: the stop must still happen.
      this.stopLocal(taskId, ownerId);
    }
  }

  /** After a reconnect the registry may be empty (Redis restarted without persistence): put ours back. */
  private restore(): void {
    if (!this.accepting) return;
    this.sync.restore(
      () => this.local.records(),
      (taskId) => this.local.has(taskId),
    );
  }

  private async askItem<T>(ownerId: string, itemId: string, msg: ItemMessage): Promise<T> {
    const reply = await this.items.ask(itemActorKey(ownerId, itemId), msg);
    if (!reply.ok) throw reply.error;
    return reply.value as T;
  }
}

export { ITEM_ACTOR_KIND };
