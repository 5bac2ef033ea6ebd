import { silentLogger, type Logger } from '../../observability/logger.js';
import type { Coordination } from '../ports.js';
import { MemoryInstanceRegistry } from './MemoryInstanceRegistry.js';
import { MemoryLeaseLock } from './MemoryLeaseLock.js';
import { MemoryMessageBus } from './MemoryMessageBus.js';
import { MemoryRoomMembers } from './MemoryRoomMembers.js';
import { MemorySessionPool } from './MemorySessionPool.js';
import { MemoryTaskRegistry } from './MemoryTaskRegistry.js';
import { MemoryUsagePool } from './MemoryUsagePool.js';

export { MemoryInstanceRegistry, MemoryLeaseLock, MemoryMessageBus, MemorySessionPool, MemoryTaskRegistry, MemoryUsagePool };

export interface MemoryCoordinationOptions {
  /** Where bus handler failures are reported. @default silentLogger() */
  readonly logger?: Logger;
}

/** The single-process backend (the embedded default). Pools share the lock so guarded sweeps are fenced. */
export function createMemoryCoordination(options: MemoryCoordinationOptions = {}): Coordination {
  const lock = new MemoryLeaseLock();
  return Object.freeze({
    kind: 'memory' as const,
    sessions: new MemorySessionPool(lock),
    usage: new MemoryUsagePool(lock),
    lock,
    tasks: new MemoryTaskRegistry(),
    bus: new MemoryMessageBus(options.logger ?? silentLogger()),
    instances: new MemoryInstanceRegistry(),
    roomMembers: new MemoryRoomMembers(),
    ping: async () => true,
    close: async () => {},
  });
}
