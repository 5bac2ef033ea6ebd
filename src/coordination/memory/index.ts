import { silentLogger, type Logger } from '../../observability/logger.js';
import { DEFAULT_JOB_QUEUE_OPTIONS, type JobQueueOptions } from '../jobs/JobQueue.js';
import type { Coordination } from '../ports.js';
import { MemoryDocumentLog } from './MemoryDocumentLog.js';
import { MemoryInstanceRegistry } from './MemoryInstanceRegistry.js';
import { MemoryJobQueue } from './MemoryJobQueue.js';
import { MemoryLeaseLock } from './MemoryLeaseLock.js';
import { MemoryMemberSets } from './MemoryMemberSets.js';
import { MemoryMessageBus } from './MemoryMessageBus.js';
import { MemoryRoomMembers } from './MemoryRoomMembers.js';
import { MemorySessionPool } from './MemorySessionPool.js';
import { MemoryTaskRegistry } from './MemoryTaskRegistry.js';
import { MemoryUsagePool } from './MemoryUsagePool.js';

export {
  MemoryDocumentLog,
  MemoryInstanceRegistry,
  MemoryJobQueue,
  MemoryLeaseLock,
  MemoryMessageBus,
  MemorySessionPool,
  MemoryTaskRegistry,
  MemoryUsagePool,
};

export interface MemoryCoordinationOptions {
  /** Where bus handler and job listener failures are reported. @default silentLogger() */
  readonly logger?: Logger;
  /** Job queue settings (config `ingest.*`). @default DEFAULT_JOB_QUEUE_OPTIONS */
  readonly jobs?: JobQueueOptions;
  /** A session is written at most this often (touches in between are answered). @default SESSION_TOUCH_EVERY_MS */
  readonly sessionTouchEveryMs?: number;
}

/** The single-process backend (the embedded default). Pools share the lock so guarded sweeps are fenced. */
export function createMemoryCoordination(options: MemoryCoordinationOptions = {}): Coordination {
  const log = options.logger ?? silentLogger();
  const lock = new MemoryLeaseLock();
  const docLog = new MemoryDocumentLog();
  const jobs = new MemoryJobQueue(options.jobs ?? DEFAULT_JOB_QUEUE_OPTIONS, log);
  let closed: Promise<void> | null = null;
  return Object.freeze({
    kind: 'memory' as const,
    sessions: new MemorySessionPool(lock, options.sessionTouchEveryMs),
    usage: new MemoryUsagePool(lock),
    lock,
    tasks: new MemoryTaskRegistry(),
    bus: new MemoryMessageBus(log),
    instances: new MemoryInstanceRegistry(),
    memberSets: new MemoryMemberSets(),
    docLog,
    jobs,
    roomMembers: new MemoryRoomMembers(),
    ping: async () => true,
    close: () => {
      closed ??= (async () => {
        await jobs.close();
        await docLog.close();
      })();
      return closed;
    },
  });
}
