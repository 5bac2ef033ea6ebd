import type { TaskRecord } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';

/** How a task ended; the `status` of its last `task:status` event. */
export type TaskOutcome = 'completed' | 'failed' | 'cancelled';

/** `task:status` event data (SPEC §4.2), sent to room `user:<owner>`. */
export interface TaskStatusEvent {
  readonly task_id: string;
  readonly item_id: string | null;
  readonly kind: string;
  readonly status: 'created' | TaskOutcome;
  /** Present when `status` is `failed`: a stable code and a message for people. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** What a running task may touch: its identity, input, abort signal and the owner's sockets. */
export interface TaskRunContext<I> {
  readonly taskId: string;
  readonly itemId: string | null;
  readonly ownerId: string;
  readonly input: I;
  /** Aborted on stop, timeout or shutdown; `signal.reason` says which. Pass it to fetches. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /**
   * Sends `{event, data}` to every socket of the owner (room `user:<owner>`) on every
   * instance. Best effort: a delivery failure is logged, never thrown, so output lost
   * to a Redis blip does not fail the task.
   */
  emitToOwner(event: string, data: unknown): Promise<void>;
}

/**
 * A kind of background task, registered by name with `TaskManager.registerKind`.
 * `parse` runs before the task exists (a bad input is a 400, nothing is registered).
 */
export interface TaskKind<I = unknown> {
  readonly name: string;
  /** Validates and normalises the caller's input; throws a SwitchyardError (BAD_REQUEST) when it is wrong. */
  parse(input: unknown, itemId: string | null): I;
  /** Resolves when done; rejects to fail. Must stop promptly when `ctx.signal` aborts. */
  run(ctx: TaskRunContext<I>): Promise<void>;
  /** Overrides `tasks.timeoutMs` for this kind, ms. */
  readonly timeoutMs?: number;
}

/** A request to start a task. */
export interface TaskSpec {
  readonly kind: string;
  /** e.g. `chat:42`; null for a task tied to no item. */
  readonly itemId: string | null;
  readonly ownerId: string;
  readonly input?: unknown;
}

/** Reported once per task when it leaves this instance, whatever the exit path. */
export interface TaskExit {
  readonly record: TaskRecord;
  readonly status: TaskOutcome;
  readonly error?: { readonly code: string; readonly message: string };
  /** How long the task ran, ms. */
  readonly durationMs: number;
}

export interface TaskManagerEvents {
  created: [record: TaskRecord];
  exit: [exit: TaskExit];
  /** A stop command for a task of this instance arrived over the bus (every delivery, duplicates included). */
  'stop-received': [taskId: string];
}
