import './helpers/guard.js';
import { createMemoryCoordination } from '../src/coordination/memory/index.js';
import { jobQueueContract } from './ingest.queue.contract.js';

jobQueueContract('memory', async (options) => {
  const coord = createMemoryCoordination({ jobs: options });
  return { a: coord.jobs, b: coord.jobs, cleanup: () => coord.close() };
});
