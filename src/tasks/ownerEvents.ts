import type { TaskRecord } from '../coordination/ports.js';
import { errorMessage } from '../errors.js';
import { userRoom } from '../http/rooms.js';
import type { Logger } from '../observability/logger.js';
import type { TaskExit, TaskOutcome, TaskStatusEvent } from './types.js';

/** Sends `{event, data}` to a room on every instance (the gateway's emitToRoom). */
export type RoomEmit = (room: string, event: string, data: unknown) => Promise<void>;

/**
 * A task's output channel to its owner's sockets (room `user:<owner>`). Best effort:
 * a delivery failure (bus down) is logged once per task, never thrown, so output lost
 * to a Redis blip does not fail the task.
 */
export function ownerEmitter(emit: RoomEmit, record: TaskRecord, log: () => Logger): (event: string, data: unknown) => Promise<void> {
  let warned = false;
  return async (event, data) => {
    try {
      await emit(userRoom(record.ownerId), event, data);
    } catch (err) {
      if (!warned) log().warn({ err: errorMessage(err) }, 'task output not delivered to other instances (bus unavailable)');
      warned = true;
    }
  };
}

/** `task:status` to the owner: `created`, then exactly one outcome. */
export async function emitStatus(emit: RoomEmit, log: Logger, record: TaskRecord, status: 'created' | TaskOutcome, error?: TaskExit['error']): Promise<void> {
  const data: TaskStatusEvent = { task_id: record.taskId, item_id: record.itemId, kind: record.kind, status, ...(error ? { error } : {}) };
  try {
    await emit(userRoom(record.ownerId), 'task:status', data);
  } catch (err) {
    log.debug({ task: record.taskId, status, err: errorMessage(err) }, 'task:status not delivered to other instances');
  }
}
