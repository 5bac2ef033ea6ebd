import './helpers/guard.js';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as Y from 'yjs';
import { MemoryDocumentLog, MemoryLeaseLock } from '../src/coordination/memory/index.js';
import { DocMetrics } from '../src/docs/DocMetrics.js';
import { DocPersistence, persistLockName } from '../src/docs/DocPersistence.js';
import { silentLogger } from '../src/observability/logger.js';
import { createMetricsRegistry } from '../src/observability/metrics.js';
import { openSqliteStorage, type Storage } from '../src/storage/index.js';
import type { DocumentStore } from '../src/storage/ports.js';
import { sleep, waitFor } from './helpers/wait.js';

/** DocPersistence against real SQLite and the memory lease lock: the writer lease guards every save. */
describe('documents: persistence holds a lease and checks it before every save', () => {
  let storage: Storage;
  before(async () => {
    storage = await openSqliteStorage({ dataDir: mkdtempSync(join(tmpdir(), 'swy-persist-')), logger: silentLogger() });
  });
  after(() => storage.close());

  it('a save that would start after the lease was lost is refused and writes nothing', async () => {
    await storage.documents.create({ id: 'p1', owner: 'alice', access: { read: [], write: ['alice'] } });
    // The real store, with the first save held at a gate: the second save queues behind it.
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    let saveCalls = 0;
    const gated: DocumentStore = {
      ...storage.documents,
      create: (d) => storage.documents.create(d),
      get: (id) => storage.documents.get(id),
      loadState: (id) => storage.documents.loadState(id),
      delete: (id) => storage.documents.delete(id),
      saveState: async (id, state) => {
        saveCalls += 1;
        if (saveCalls === 1) await gate;
        return storage.documents.saveState(id, state);
      },
    };
    const registry = createMetricsRegistry('persist-test');
    const metrics = new DocMetrics(registry, { loaded: () => 0, awarenessTimers: () => 0, connections: () => 0, maxConnectionsPerDoc: () => 0 });
    const lock = new MemoryLeaseLock();
    const doc = new Y.Doc();
    const text = doc.getText('body');
    const persistence = new DocPersistence(
      {
        docId: 'p1',
        owner: 'instance-a',
        storage: gated,
        log: new MemoryDocumentLog(),
        lock,
        metrics,
        logger: silentLogger(),
        options: { debounceMs: 10, maxWaitMs: 50, leaseTtlMs: 300 },
      },
      {
        snapshot: () => ({ state: Y.encodeStateAsUpdate(doc), appliedId: '0-0' }),
        mergeStored: (state) => Y.applyUpdate(doc, state),
        lastOwnId: () => null,
        schedule: () => () => {}, // the test drives the persist turns itself
      },
    );
    persistence.enable();

    text.insert(0, 'first');
    persistence.markDirty();
    await persistence.persist(); // takes the lease; save 1 waits at the gate
    assert.equal((await lock.holder(persistLockName('p1')))?.owner, 'instance-a');
    text.insert(text.length, ' second');
    persistence.markDirty();
    await persistence.persist(); // renews; save 2 queues behind save 1
    await waitFor(() => saveCalls === 1, { what: 'save 1 started' });

    // No renew for longer than the TTL: the lease lapses and another instance becomes the writer.
    await sleep(450);
    assert.ok(await lock.acquire(persistLockName('p1'), 'instance-b', 10_000), 'instance-b takes the lease');
    openGate();
    await persistence.flush().catch(() => {});

    const stored = await storage.documents.loadState('p1');
    const check = new Y.Doc();
    Y.applyUpdate(check, stored!);
    assert.equal(check.getText('body').toString(), 'first', 'only the save begun while the lease was held was written');
    assert.equal(saveCalls, 1, 'the second save never reached storage');
    const saves = await registry.getSingleMetricAsString('switchyard_docs_saves_total');
    assert.match(saves, /result="refused"[^\n]* 1/);
    assert.equal(persistence.isDirty, true, 'the unsaved edit stays pending (the new writer has it through the log)');
    await persistence.release();
    assert.equal((await lock.holder(persistLockName('p1')))?.owner, 'instance-b', 'release never frees a lease held by someone else');
    check.destroy();
    doc.destroy();
  });

  it('escapes the id in the lock name, so no two documents share a lock or a fence', () => {
    assert.notEqual(persistLockName('v1:fence'), `${persistLockName('v1')}:fence`);
    assert.doesNotMatch(persistLockName('a:b:c'), /a:b/);
    assert.notEqual(persistLockName('a'), persistLockName('a:'));
  });
});
