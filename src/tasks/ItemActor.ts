import type { ActorSystem } from '../actors/ActorSystem.js';
import type { ActorKind } from '../actors/ActorSystem.js';
import type { Behavior } from '../actors/types.js';
import type { TaskSpec } from './types.js';

/** Actor kind of the per-item task actors: `task-item:<itemId>`. */
export const ITEM_ACTOR_KIND = 'task-item';

export type ItemMessage =
  | { readonly type: 'create'; readonly spec: TaskSpec; readonly timeoutMs?: number }
  | { readonly type: 'stop'; readonly taskId: string }
  | { readonly type: 'stop-all' };

/** What an item actor needs from the task manager; nothing else of the runtime. */
export interface ItemHost {
  /** Registers and starts a task on this instance; resolves with its id once it is in the registry. */
  startLocal(spec: TaskSpec, timeoutMs?: number): Promise<string>;
  /** Stops a task of this instance; true when this call stopped it. */
  stopLocal(taskId: string): boolean;
  /** Every task of the item, cluster-wide (registry) plus this instance's (even if the registry lost them). */
  taskIdsOf(itemId: string): Promise<string[]>;
  /**
   * Stops a task wherever it runs: `stopped` here at once, `sent` over the bus to its
   * instance, `none` when it was already stopping or is gone.
   */
  stopAnywhere(taskId: string): Promise<'stopped' | 'sent' | 'none'>;
}

/** A turn's result. Failures are returned, not thrown: a Redis blip is not an actor crash. */
export type ItemReply<T = unknown> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export interface ItemActorOptions {
  readonly idleTimeoutMs: number;
  readonly mailboxCapacity: number;
  /** Bounds a create or stop-all turn (a registry call may wait for a reconnecting Redis). */
  readonly askTimeoutMs: number;
}

/**
 * One actor per item serialises create, stop and stop-all of that item's tasks on
 * this instance: a stop-all lists the item's tasks and stops each one inside a single
 * turn, so a create queued meanwhile runs after it, never half-way through — the
 * original "stop while iterating" miss cannot happen, and no task is stopped twice.
 */
export function registerItemActor(actors: ActorSystem, host: ItemHost, options: ItemActorOptions): ActorKind<ItemMessage, ItemReply> {
  const turn = async (itemId: string, msg: ItemMessage): Promise<unknown> => {
    switch (msg.type) {
      case 'create':
        return host.startLocal(msg.spec, msg.timeoutMs);
      case 'stop':
        return host.stopLocal(msg.taskId);
      case 'stop-all': {
        const ids = await host.taskIdsOf(itemId);
        const outcomes = await Promise.all(ids.map((id) => host.stopAnywhere(id)));
        // Only the tasks this turn stopped or signalled: one already stopping is not stopped again.
        return ids.filter((_, i) => outcomes[i] !== 'none');
      }
    }
  };
  return actors.register<ItemMessage, ItemReply>(
    ITEM_ACTOR_KIND,
    (itemId) =>
      ({
        receive: (msg) =>
          turn(itemId, msg).then(
            (value): ItemReply => ({ ok: true, value }),
            (error: unknown): ItemReply => ({ ok: false, error }),
          ),
      }) satisfies Behavior<ItemMessage, ItemReply>,
    {
      idleTimeoutMs: options.idleTimeoutMs,
      mailboxCapacity: options.mailboxCapacity,
      askTimeoutMs: options.askTimeoutMs,
      // A turn fails by rejecting its ask, never by crashing; restarts are for bugs.
      restart: { minBackoffMs: 10, maxBackoffMs: 1_000 },
    },
  );
}
