import type { ActorSystem } from '../actors/ActorSystem.js';
import type { Config } from '../config/schema.js';
import type { Coordination } from '../coordination/ports.js';
import type { Feature } from '../Feature.js';
import type { RoomEmitter, WebHost } from '../http/ports.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import { completionTask } from './completion/CompletionTask.js';
import { registerTaskRoutes } from './routes.js';
import { TaskManager } from './TaskManager.js';

export interface TasksDeps {
  readonly config: Config;
  readonly instanceId: string;
  readonly coordination: Coordination;
  readonly actors: ActorSystem;
  readonly log: Logger;
  readonly metrics: Registry;
  /** Where status and output events go (the web host); null = nowhere (runtimes without sockets). */
  readonly rooms: RoomEmitter | null;
}

/**
 * Background tasks as a feature: the task manager with the shipped kinds
 * (`completion`), the `/api/tasks` routes, and the stop-command listener (start).
 */
export class Tasks implements Feature {
  readonly name = 'tasks';
  readonly manager: TaskManager;

  constructor(deps: TasksDeps) {
    const { config, rooms } = deps;
    this.manager = new TaskManager(
      {
        registry: deps.coordination.tasks,
        bus: deps.coordination.bus,
        actors: deps.actors,
        emit: rooms ? (room, event, data) => rooms.emitToRoom(room, event, data) : async () => {},
        log: deps.log,
        metrics: deps.metrics,
      },
      {
        instanceId: deps.instanceId,
        timeoutMs: config.tasks.timeoutMs,
        maxPerUser: config.tasks.maxPerUser,
        itemActor: { idleTimeoutMs: config.actors.idleTimeoutMs, mailboxCapacity: config.actors.mailboxCapacity },
      },
    );
    this.manager.registerKind(completionTask(config.tasks.completion));
  }

  attach(web: WebHost): void {
    registerTaskRoutes(web, this.manager);
  }

  start(): Promise<void> {
    return this.manager.start();
  }

  /** Stops every local task (each reported cancelled) and leaves the registry clean. */
  stop(): Promise<void> {
    return this.manager.shutdown();
  }
}
