import type { Config } from '../config/schema.js';
import type { JobQueueOptions } from '../coordination/jobs/JobQueue.js';

export { Ingest, type IngestDeps } from './Ingest.js';
export { IngestService } from './IngestService.js';
export type { FileStatusEvent } from './IngestService.js';
export { EMBED_TASK, PREPARE_TASK } from './poolTasks.js';

/** Job-queue settings from the config: the backend builds the queue with them. */
export function queueOptionsOf(config: Config): JobQueueOptions {
  const i = config.ingest;
  return {
    maxRetries: i.jobMaxRetries,
    backoffBaseMs: i.retryBaseMs,
    backoffMaxMs: i.retryMaxMs,
    timeoutMs: i.jobTimeoutMs,
    resultTtlMs: i.jobResultTtlMs,
    failureTtlMs: i.jobFailureTtlMs,
    leaseMs: i.leaseMs,
  };
}

