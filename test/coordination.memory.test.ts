import './helpers/guard.js';
import { createMemoryCoordination } from '../src/coordination/memory/index.js';
import { coordinationContract } from './coordination.contract.js';

coordinationContract('memory', async () => {
  const coord = createMemoryCoordination();
  return { coord, cleanup: () => coord.close() };
});
