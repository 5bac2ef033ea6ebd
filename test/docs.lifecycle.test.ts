import './helpers/guard.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { encodeAwarenessUpdate } from '../src/docs/protocol.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc, docToken } from './helpers/docs.js';
import { sleep, waitFor } from './helpers/wait.js';

/** Unloading without leaks, and keeping a quiet client connected. */
describe('documents: lifecycle', () => {
  let t: TestRuntime;
  before(async () => {
    t = await startRuntime({ docs: { unloadGraceMs: 200 }, gateway: { upgradesPerSecondPerIp: 10_000, upgradeBurstPerIp: 10_000 } });
  });
  after(() => t.runtime.stop());

  const gauge = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${t.runtime.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    assert.ok(line, `metric ${name} is exposed`);
    return Number(line.split(' ').at(-1));
  };

  it('1,000 open/close cycles over 100 documents: loaded documents, awareness timers and sockets return to zero', async () => {
    const DOCS = 100;
    const CYCLES = 1_000;
    for (let d = 0; d < DOCS; d++) assert.equal((await createDoc(t.runtime, 'alice', { id: `leak-${d}`, access: { write: ['*'] } })).status, 201);
    const token = await docToken('alice');
    // A lightweight client: announce an awareness state (so the server tracks it), then leave.
    const cycle = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${t.runtime.port}/doc/leak-${i % DOCS}?token=${token}`);
        const timer = setTimeout(() => reject(new Error(`cycle ${i} did not finish`)), 10_000);
        ws.once('message', () => {
          const doc = new Y.Doc();
          const awareness = new awarenessProtocol.Awareness(doc);
          awareness.setLocalState({ cycle: i });
          ws.send(encodeAwarenessUpdate(awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID])));
          awareness.destroy();
          doc.destroy();
          ws.close();
        });
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.once('error', reject);
      });
    let next = 0;
    const worker = async () => {
      while (next < CYCLES) await cycle(next++);
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    assert.ok((await gauge('switchyard_docs_loaded')) <= DOCS);
    const metrics = await (await fetch(`http://127.0.0.1:${t.runtime.port}/metrics`)).text();
    const loads = Number(/switchyard_docs_loads_total\{[^}]*result="ok"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    assert.ok(loads >= DOCS, `every document was really loaded (${loads} loads)`);
    await waitFor(async () => (await gauge('switchyard_docs_loaded')) === 0, { what: 'every document unloaded', timeoutMs: 10_000 });
    assert.equal(await gauge('switchyard_docs_awareness_timers'), 0);
    assert.equal(await gauge('switchyard_docs_connections'), 0);
    assert.equal(t.runtime.actors.stats().kinds.doc?.active ?? 0, 0, 'no document actor left');
  });

  it('a lone client with nothing to say stays connected for more than 40 s', { timeout: 60_000 }, async () => {
    await createDoc(t.runtime, 'alice', { id: 'lone' });
    const c = await Client.open(t.runtime.port, 'lone', 'alice');
    try {
      c.provider.awareness.setLocalStateField('user', { name: 'alice' });
      let disconnects = 0;
      c.provider.on('status', ({ status }: { status: string }) => {
        if (status === 'disconnected') disconnects++;
      });
      // The stock client drops a socket after 30 s without a message; awareness renewals (every 15 s) are echoed.
      await sleep(42_000);
      assert.equal(disconnects, 0, `closes: ${JSON.stringify(c.closes)}`);
      assert.equal(c.provider.wsconnected, true);
      assert.equal(await gauge('switchyard_docs_loaded'), 1, 'the document stayed loaded while its client was connected');
    } finally {
      c.destroy();
    }
  });
});
