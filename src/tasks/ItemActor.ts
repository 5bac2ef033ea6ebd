import type { ActorSystem } from '../actors/ActorSystem.js';
import type { ActorKind } from '../actors/ActorSystem.js';
import type { Behavior } from '../actors/types.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import type { TaskRecord } from '../coordination/ports.js';
import type { TaskSpec } from './types.js';

/** Actor kind of the per-owner, per-item task actors: `task-item:<owner>/<itemId>`. */
export const ITEM_ACTOR_KIND = 'task-item';

/**
 * The actor key of one owner's tasks of one item. The owner is URI-encoded, so it
 * holds no `/` and the first `/` splits the key: `alice/chat:R` and `bob/chat:R` are
 * different actors, and no (owner, item) pair can spell another's key.
 */
export function itemActorKey(ownerId: string, itemId: string): string {
  return `${encodeURIComponent(ownerId)}/${itemId}`;
}

function parseItemActorKey(key: string): { ownerId: string; itemId: string } {
  const slash = key.indexOf('/');
  return { ownerId: decodeURIComponent(key.slice(0, slash)), itemId: key.slice(slash + 1) };
}

export type ItemMessage =
  | { readonly type: 'create'; readonly spec: TaskSpec; readonly timeoutMs?: number }
  | { readonly type: 'stop'; readonly taskId: string }
  | { readonly type: 'stop-all' };

/** What an item actor needs from the task manager; nothing else of the runtime. */
export interface ItemHost {
  /** Registers and starts a task on this instance; resolves with its record once it is in the registry. */
  startLocal(spec: TaskSpec, timeoutMs?: number): Promise<TaskRecord>;
  /** Stops a task of this instance if `ownerId` owns it; true when this call stopped it. */
  stopLocal(taskId: string, ownerId: string): boolean;
  /** The owner's tasks of the item, cluster-wide (registry) plus this instance's (even if the registry lost them). */
  taskIdsOf(itemId: string, ownerId: string): Promise<string[]>;
  /**
   * Stops a task of `ownerId` wherever it runs: `stopped` here at once, `sent` over
   * the bus to its instance, `none` when it was already stopping, is gone or is not theirs.
   */
  stopAnywhere(taskId: string, ownerId: string): Promise<'stopped' | 'sent' | 'none'>;
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
 * One actor per (owner, item) serialises create, stop and stop-all of that owner's
 * tasks of the item on this instance. A stop-all lists them and stops each inside a
 * single turn, so a create queued meanwhile runs after it, never half-way through —
 * the original "stop while iterating" miss cannot happen, and no task is stopped
 * twice. Ownership is the actor's identity, checked inside the turn that acts: another
 * user's stop-all runs in another actor and can only ever see that user's tasks, so
 * it cannot touch these, however it races (the original checked the item's owner
 * first and then stopped every task of the item, whoever owned it).
 */
export function registerItemActor(actors: ActorSystem, host: ItemHost, options: ItemActorOptions): ActorKind<ItemMessage, ItemReply> {
  const turn = async (ownerId: string, itemId: string, msg: ItemMessage): Promise<unknown> => {
    switch (msg.type) {
      case 'create':
        if (msg.spec.ownerId !== ownerId || msg.spec.itemId !== itemId) {
          throw new SwitchyardError(ErrorCode.INTERNAL, 'task create sent to another owner’s item actor');
        }
        return host.startLocal(msg.spec, msg.timeoutMs);
      case 'stop':
        return host.stopLocal(msg.taskId, ownerId);
      case 'stop-all': {
        const ids = await host.taskIdsOf(itemId, ownerId);
        const outcomes = await Promise.all(ids.map((id) => host.stopAnywhere(id, ownerId)));
        // Only the tasks this turn stopped or signalled: one already stopping is not stopped again.
        return ids.filter((_, i) => outcomes[i] !== 'none');
      }
    }
  };
  return actors.register<ItemMessage, ItemReply>(
    ITEM_ACTOR_KIND,
    (key) => {
      const { ownerId, itemId } = parseItemActorKey(key);
      return {
        receive: (msg) =>
          turn(ownerId, itemId, msg).then(
            (value): ItemReply => ({ ok: true, value }),
            (error: unknown): ItemReply => ({ ok: false, error }),
          ),
      } satisfies Behavior<ItemMessage, ItemReply>;
    },
    {
      idleTimeoutMs: options.idleTimeoutMs,
      mailboxCapacity: options.mailboxCapacity,
      askTimeoutMs: options.askTimeoutMs,
      // A turn fails by rejecting its ask, never by crashing; restarts are for bugs.
      restart: { minBackoffMs: 10, maxBackoffMs: 1_000 },
    },
  );
}
