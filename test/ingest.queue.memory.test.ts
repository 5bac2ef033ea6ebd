import './helpers/guard.js';
import { MemoryJobQueue } from '../src/ingest/queue/MemoryJobQueue.js';
import { jobQueueContract } from './ingest.queue.contract.js';

jobQueueContract('memory', async (options) => {
  const queue = new MemoryJobQueue(options);
  return { a: queue, b: queue, cleanup: () => queue.close() };
});
