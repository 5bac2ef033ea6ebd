/** Bus topic of task commands; in Redis the channel `<prefix>:tasks:commands` (SPEC §5). */
export const TASK_COMMANDS_TOPIC = 'tasks:commands';

/** The one command today: stop a task wherever it runs. */
export interface StopCommand {
  readonly action: 'stop';
  readonly task_id: string;
}

export type TaskCommand = StopCommand;

export function encodeStop(taskId: string): string {
  return JSON.stringify({ action: 'stop', task_id: taskId } satisfies StopCommand);
}

/** Null for anything that is not a well-formed command (ignored by the listener). */
export function decodeCommand(payload: string): TaskCommand | null {
  let msg: unknown;
  try {
    msg = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof msg !== 'object' || msg === null) return null;
  const { action, task_id: taskId } = msg as Record<string, unknown>;
  if (action === 'stop' && typeof taskId === 'string' && taskId.length > 0) return { action, task_id: taskId };
  return null;
}
