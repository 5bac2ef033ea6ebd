import type { ActorSystem } from '../actors/ActorSystem.js';
import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import { completionTask } from './completion/CompletionTask.js';
import type { RoomEmitter, RouteTarget } from '../http/ports.js';
import { registerTaskRoutes } from './routes.js';
import { TaskManager } from './TaskManager.js';

export interface TasksWiring {
  readonly config: Config;
  readonly instanceId: string;
  readonly coordination: Coordination;
  readonly actors: ActorSystem;
  readonly log: Logger;
  readonly metrics: Registry;
  /** The gateway when there is one: REST routes are added and status/output events go out through it. */
  readonly gateway: (RouteTarget & RoomEmitter) | null;
}

/** Builds the task manager with the shipped kinds (`completion`), its REST routes, and subscribes to stop commands. */
export async function startTasks(w: TasksWiring): Promise<TaskManager> {
  const { config, gateway } = w;
  const manager = new TaskManager(
    {
      registry: w.coordination.tasks,
      bus: w.coordination.bus,
      actors: w.actors,
      emit: gateway ? (room, event, data) => gateway.emitToRoom(room, event, data) : async () => {},
      log: w.log,
      metrics: w.metrics,
    },
    {
      instanceId: w.instanceId,
      timeoutMs: config.tasks.timeoutMs,
      maxPerUser: config.tasks.maxPerUser,
      itemActor: { idleTimeoutMs: config.actors.idleTimeoutMs, mailboxCapacity: config.actors.mailboxCapacity },
    },
  );
  manager.registerKind(completionTask(config.tasks.completion));
  if (gateway) registerTaskRoutes(gateway, manager);
  await manager.start();
  return manager;
}
