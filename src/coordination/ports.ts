/**
 * Coordination ports: what the runtime needs from a backend that many instances
 * can share. Two adapters implement them: `memory/` (one process, the embedded
 * default) and `redis/` (many processes or machines). Both pass one contract
 * suite per port (test/coordination.contract.ts, test/doclog.contract.ts,
 * test/ingest.queue.contract.ts). The two larger ports have files of their own:
 * `DocumentLog.ts` (document update streams) and `jobs/JobQueue.ts` (ingestion jobs).
 *
 * Times are epoch milliseconds supplied by the caller, so tests can drive the
 * clock and every instance on a machine agrees on "now".
 */
import type { DocumentLog } from './DocumentLog.js';
import type { JobQueue } from './jobs/JobQueue.js';

export type { DocumentLog, LogEntry, LogSubscriber } from './DocumentLog.js';
export type { JobQueue, JobQueueOptions } from './jobs/JobQueue.js';

import type { RoomMembers } from './RoomMembers.js';

export type Role = 'user' | 'admin';

export interface SessionInfo {
  /** Socket/session id, unique across the cluster. */
  readonly sid: string;
  readonly userId: string;
  readonly name: string;
  readonly role: Role;
  readonly instanceId: string;
  readonly connectedAt: number;
  readonly lastSeenAt: number;
}

/**
 * A session is written at most this often by default: a socket's heartbeats come many times
 * a second under load (25/s each in bench:ws), sessions expire after minutes. Both adapters
 * answer the touches in between without writing (Redis: no command; memory: no new record, no
 * index entry); the runtime shortens it to a quarter of a short `presence.sessionTimeoutMs`.
 */
export const SESSION_TOUCH_EVERY_MS = 1_000;

/** Authenticated sessions. `lastSeenAt` is indexed so idle sessions are found in O(expired). */
export interface SessionPool {
  /** Adds or replaces a session (e.g. `user-join` rebinding the socket to another user). */
  upsert(session: SessionInfo): Promise<void>;
  /**
   * Refreshes `lastSeenAt`; false when the session is unknown. An adapter may answer a touch
   * within SESSION_TOUCH_EVERY_MS of the session's last known one without writing it
   * (lastSeenAt up to that old), and then answers `true` at once, not as a promise: the
   * heartbeat path makes no promise for the 24 of 25 touches that write nothing.
   */
  touch(sid: string, now: number): true | Promise<boolean>;
  /** Removes the session; a no-op when it is unknown. */
  remove(sid: string): Promise<void>;
  get(sid: string): Promise<SessionInfo | null>;
  /** Number of sessions. */
  count(): Promise<number>;
  /** Number of distinct users with at least one session. */
  userCount(): Promise<number>;
  /** Removes up to `limit` sessions last seen before `olderThan`; returns their ids. */
  sweepIdle(olderThan: number, limit: number, guard?: LeaseGuard): Promise<string[]>;
}

/**
 * Which models each session is using right now. An entry is (model, sid) with the
 * time it was last marked.
 */
export interface UsagePool {
  mark(model: string, sid: string, now: number): Promise<void>;
  /** Drops every entry of the session (disconnect). */
  removeSession(sid: string): Promise<void>;
  /** Models with at least one entry. */
  models(): Promise<string[]>;
  /** Session ids using the model. */
  sessionsOf(model: string): Promise<string[]>;
  /** Total number of (model, sid) entries. */
  size(): Promise<number>;
  /**
   * Removes up to `limit` entries marked before `olderThan` (a model left with no
   * entries disappears) and returns how many were removed. Costs O(expired).
   */
  sweep(olderThan: number, limit: number, guard?: LeaseGuard): Promise<number>;
}

/**
 * A sweep may pass the lease it holds: the backend then refuses to sweep (throws
 * LeaseLostError) unless `owner` still holds lock `name` — a fenced write.
 */
export interface LeaseGuard {
  readonly name: string;
  readonly owner: string;
}

export interface LeaseGrant {
  /** Strictly increasing across every acquisition of this lock name. */
  readonly fence: number;
}

export interface LeaseHolderInfo {
  readonly owner: string;
  readonly fence: number;
  /** Remaining time to live in ms. */
  readonly ttlMs: number;
}

/** The TTL rule both lease-lock adapters apply: Redis rejects a non-integer or non-positive PX. */
export function assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
}

/** A lease lock: SET NX PX + fence counter; renew and release check the owner. */
export interface LeaseLock {
  /** Takes the lock if free; null when someone else holds it. */
  acquire(name: string, owner: string, ttlMs: number): Promise<LeaseGrant | null>;
  /** Extends the lease if `owner` still holds it; false otherwise. */
  renew(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Compare-and-delete; false when `owner` did not hold it. */
  release(name: string, owner: string): Promise<boolean>;
  holder(name: string): Promise<LeaseHolderInfo | null>;
}

export type TaskStatus = 'running' | 'stopping';

export interface TaskRecord {
  readonly taskId: string;
  /** e.g. `chat:42`; null for tasks not tied to an item. */
  readonly itemId: string | null;
  readonly ownerId: string;
  readonly instanceId: string;
  readonly kind: string;
  readonly status: TaskStatus;
  readonly createdAt: number;
}

/** Cluster-wide registry of running tasks: a hash plus per-item, per-owner and per-instance sets. */
export interface TaskRegistry {
  /** Registers the task whatever its owner runs (re-registration after a reconnect). */
  add(task: TaskRecord): Promise<void>;
  /**
   * Registers the task only if its owner then runs at most `limit` tasks: the registry's
   * (every instance) plus `alsoRunning`, ids of the owner's tasks the caller runs (counted
   * even if the registry lost them). Count and write are one atomic step, so creates
   * racing on several instances cannot exceed the limit together. False when refused
   * (nothing written).
   */
  addWithinLimit(task: TaskRecord, limit: number, alsoRunning: readonly string[]): Promise<boolean>;
  /** Removes the task from the hash and from its item, owner and instance sets (owner: when given). */
  remove(task: Pick<TaskRecord, 'taskId' | 'itemId' | 'instanceId'> & { readonly ownerId?: string }): Promise<void>;
  get(taskId: string): Promise<TaskRecord | null>;
  list(): Promise<TaskRecord[]>;
  /** Task ids of one item. */
  listByItem(itemId: string): Promise<string[]>;
  /** Task ids of one owner, every instance (the per-user task limit counts them). */
  listByOwner(ownerId: string): Promise<string[]>;
  /** Removes every task an instance registered (it died); returns the removed ids. */
  removeByInstance(instanceId: string): Promise<string[]>;
}

export type BusHandler = (payload: string, topic: string) => void;
export type Unsubscribe = () => Promise<void>;

/**
 * Topic pub/sub across instances. Delivery is at-most-once (like Redis pub/sub);
 * after a lost connection the adapter resubscribes every topic with backoff.
 */
export interface MessageBus {
  publish(topic: string, payload: string): Promise<void>;
  /**
   * Publishes `header + frame` for a handler that reads a stream of self-delimiting frames
   * (RoomHub's each begin with a newline). Frames of one topic and header published in one
   * event-loop turn may arrive as one payload — the header once, then the frames in order —
   * so a burst costs one message instead of one per frame. Order holds within the topic;
   * messages of other topics published in the same turn may arrive before or after.
   */
  publishFrame(topic: string, header: string, frame: string): Promise<void>;
  /** Subscribes the handler; the returned function removes it (and the topic subscription when it was the last). */
  subscribe(topic: string, handler: BusHandler): Promise<Unsubscribe>;
  /**
   * Removes the handler from the topic, as the function `subscribe` returned does; a no-op
   * when it is not subscribed. One handler can then serve many topics without a closure
   * per topic held to unsubscribe it (the gateway subscribes a topic per connected user).
   */
  unsubscribe(topic: string, handler: BusHandler): Promise<void>;
  /** Number of topics this process is subscribed to. */
  topicCount(): number;
  /** Called with `true` when the bus is (re)subscribed and `false` when the connection is lost. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
}

export interface InstanceInfo {
  readonly instanceId: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** Free-form stats an instance publishes with its heartbeat (connections, …). */
  readonly stats?: Record<string, number>;
}

/** Live instances: each heartbeats with a TTL; an instance whose heartbeat lapsed is dead. */
export interface InstanceRegistry {
  heartbeat(info: InstanceInfo, ttlMs: number, now: number): Promise<void>;
  /** Instances whose heartbeat has not expired at `now`. */
  listLive(now: number): Promise<InstanceInfo[]>;
  /** Removes instances whose heartbeat expired before `now`; returns their ids. */
  reapDead(now: number): Promise<string[]>;
  remove(instanceId: string): Promise<void>;
}

export type CoordinationKind = 'memory' | 'redis';

/**
 * Everything a backend provides, built once by the composition root from one set
 * of connections. Services receive the ports they need; none picks an adapter.
 */
export interface Coordination {
  readonly kind: CoordinationKind;
  readonly sessions: SessionPool;
  readonly usage: UsagePool;
  readonly lock: LeaseLock;
  readonly tasks: TaskRegistry;
  readonly bus: MessageBus;
  readonly instances: InstanceRegistry;
  /** Named sets of members with a last-seen time (who is in a note, on every instance). */
  readonly memberSets: MemberSets;
  /** Members of chat:/channel: rooms, set through the REST API (RoomMembers.ts). */
  readonly roomMembers: RoomMembers;
  /** Cross-instance update streams of documents. */
  readonly docLog: DocumentLog;
  /** Ingestion jobs. */
  readonly jobs: JobQueue;
  /** True when the backend answers (readiness). */
  ping(): Promise<boolean>;
  /** Closes the job queue and the document log, then the connections. */
  close(): Promise<void>;
}

/**
 * Named sets of members with a last-seen time, shared by every instance (e.g. the
 * Socket.IO sessions of a note document). Members not refreshed within the TTL given
 * to `members` drop out, so a killed instance's entries do not stay forever.
 */
export interface MemberSets {
  /** Adds or refreshes `member` (time in epoch ms). */
  add(set: string, member: string, now: number): Promise<void>;
  remove(set: string, member: string): Promise<void>;
  /** Members seen within `ttlMs` before `now`, sorted; older ones are removed. */
  members(set: string, now: number, ttlMs: number): Promise<string[]>;
  close(): Promise<void>;
}
