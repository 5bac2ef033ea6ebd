export { TaskManager, type TaskManagerDeps, type TaskManagerOptions, type StopResult } from './TaskManager.js';
export { ITEM_ACTOR_KIND, type ItemMessage } from './ItemActor.js';
export { TASK_COMMANDS_TOPIC, encodeStop, decodeCommand, type TaskCommand } from './TaskCommands.js';
export { DEFAULT_STOP_COURIER, type StopCourierOptions } from './StopCourier.js';
export { registerTaskRoutes, ownerOfRunningTasks, type AuthorizeItem } from './routes.js';
export { completionTask, COMPLETION_KIND, type CompletionOptions, type CompletionInput, type CompletionDelta } from './completion/CompletionTask.js';
export { SseParser, type SseEvent } from './completion/SseParser.js';
export { TaskTimeoutError, TaskCancelledError, UpstreamError } from './errors.js';
export type * from './types.js';
