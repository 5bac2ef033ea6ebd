import type { Logger } from '../observability/logger.js';

/** Address of a virtual actor. `id` is `kind:key`, the form used in logs, errors and dead letters. */
export interface ActorRef {
  readonly kind: string;
  readonly key: string;
  readonly id: string;
}

/** Anything that names an actor: a ref, or a bare `{ kind, key }`. */
export type ActorAddress = ActorRef | { readonly kind: string; readonly key: string };

/** Why an incarnation ended; passed to `Behavior.onStop`. */
export type StopReason =
  | 'passivated' // idle for idleTimeoutMs; the next message reactivates it with fresh state
  | 'restart' // its handler (or onStart) threw; a fresh incarnation follows after backoff
  | 'stopped' // ActorSystem.stop()
  | 'escalated' // crashed more than maxRestarts within withinMs; its parent stopped it
  | 'parent-stopped' // its parent actor was stopped, escalated or passivated
  | 'shutdown'; // ActorSystem.shutdown()

/**
 * The narrow view a behaviour gets of the runtime: it can address other actors and
 * itself, never the system, so behaviours stay testable with a stub context.
 */
export interface ActorContext<M = unknown> {
  readonly self: ActorRef;
  /** The actor that spawned this one with `spawnChild`; undefined under the root supervisor. */
  readonly parent: ActorRef | undefined;
  /** Aborted when this incarnation stops (any reason): pass it to fetches and streams. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Fire-and-forget. Throws `MailboxFullError` when the target's policy is `reject` and it is full. */
  tell(target: ActorAddress, msg: unknown): void;
  /**
   * Request/reply. Asking `self` rejects at once (it would wait on its own turn).
   * Longer cycles (A asks B asks A) are broken only by the ask timeout.
   */
  ask<R = unknown>(target: ActorAddress, msg: unknown, timeoutMs?: number): Promise<R>;
  /**
   * Sends `msg` to self after `delayMs`. Returns a cancel function. Pending timers keep the
   * actor from passivating and are cleared when the incarnation stops.
   */
  schedule(delayMs: number, msg: M): () => void;
  /** Activates `kind:key` as this actor's child: its escalations come here, and it stops with us. */
  spawnChild(kind: string, key: string): ActorRef;
}

/** What an actor does. A new object comes from the kind's factory on every (re)activation. */
export interface Behavior<M = unknown, R = unknown> {
  /** One message at a time; the next is not delivered until the returned promise settles. */
  receive(msg: M, ctx: ActorContext<M>): R | Promise<R>;
  /** Awaited before the first message. Throwing counts as a crash. */
  onStart?(ctx: ActorContext<M>): void | Promise<void>;
  /** Awaited after the last turn of the incarnation. Errors are logged, never rethrown. */
  onStop?(ctx: ActorContext<M>, reason: StopReason): void | Promise<void>;
}

export type BehaviorFactory<M = unknown, R = unknown> = (key: string) => Behavior<M, R>;

export type OverflowPolicy = 'reject' | 'drop-oldest';

export interface RestartOptions {
  /** First restart delay, ms; doubles per crash in the window, plus up to 50 % jitter. @default 100 */
  minBackoffMs?: number;
  /** Cap on the restart delay, ms. @default 10_000 */
  maxBackoffMs?: number;
  /** Crashes tolerated within `withinMs`; one more escalates to the parent. @default 5 */
  maxRestarts?: number;
  /** Sliding window for `maxRestarts`, ms. @default 60_000 */
  withinMs?: number;
}

/** Per-kind settings, given to `ActorSystem.register`. */
export interface ActorKindOptions {
  /** Messages a mailbox holds before the overflow policy applies. @default 1000 */
  mailboxCapacity?: number;
  /**
   * `reject`: tell throws `MailboxFullError` (ask rejects) so the sender feels back-pressure.
   * `drop-oldest`: the oldest queued message goes to dead letters ('dropped-oldest'),
   * for streams where only recent messages matter (presence, cursors).
   * @default 'reject'
   */
  overflow?: OverflowPolicy;
  /**
   * Passivate after this long without messages, ms; 0 = never. Checked by one timer per
   * actor, so passivation lands between idleTimeoutMs and twice that. @default 60_000
   */
  idleTimeoutMs?: number;
  restart?: RestartOptions;
  /** Default ask timeout, ms. @default 5_000 */
  askTimeoutMs?: number;
}

export type DeadLetterReason =
  | 'mailbox-full'
  | 'dropped-oldest'
  | 'stopped'
  | 'escalated'
  | 'ask-timeout'
  | 'shutting-down'
  | 'parent-stopped';

/** A message that was not (or could not be) handled. For 'ask-timeout', `message` is the late reply. */
export interface DeadLetter {
  readonly ref: string;
  readonly message: unknown;
  readonly reason: DeadLetterReason;
  /** From the system's clock, ms. */
  readonly at: number;
}

/** An actor crashed more than `maxRestarts` times within `withinMs` and was stopped by its parent. */
export interface Escalation {
  readonly ref: string;
  /** `'root'` or the parent actor's id. */
  readonly supervisor: string;
  readonly error: unknown;
  readonly restarts: number;
  readonly at: number;
}
