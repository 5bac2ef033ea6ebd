import './helpers/guard.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import * as encoding from 'lib0/encoding';
import { docToken } from './helpers/docs.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { Client, createDoc, getDoc } from './helpers/docs.js';
import { waitFor } from './helpers/wait.js';

/** One instance: sync, late joiners, readers, awareness, REST. */
describe('documents: sync on one instance', () => {
  let t: TestRuntime;
  const clients: Client[] = [];
  const open = async (...args: Parameters<typeof Client.open>) => {
    const c = await Client.open(...args);
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await startRuntime({ docs: { unloadGraceMs: 300 } });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await t.runtime.stop();
  });

  it('POST /api/docs creates a document; the creator is owner and writer', async () => {
    const res = await createDoc(t.runtime, 'alice', { id: 'n1', access: { read: ['bob'] } });
    assert.equal(res.status, 201);
    assert.deepEqual(res.json, { id: 'n1', owner: 'alice', access: { read: ['bob'], write: ['alice'] } });
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'n1' })).status, 409);
    assert.equal((await createDoc(t.runtime, 'alice', { id: 'bad id!' })).status, 400);
    const generated = await createDoc(t.runtime, 'carol', {});
    assert.equal(generated.status, 201);
    assert.match(generated.json.id, /^[0-9a-f-]{36}$/);
  });

  it('two clients converge; a late joiner gets the full state; GET returns the text', async () => {
    const a = await open(t.runtime.port, 'n1', 'alice');
    const b = await open(t.runtime.port, 'n1', 'alice');
    a.text.insert(0, 'hello ');
    b.text.insert(0, 'world ');
    await waitFor(() => a.text.toString() === b.text.toString() && a.text.length === 12, { what: 'convergence' });
    const late = await open(t.runtime.port, 'n1', 'bob');
    await waitFor(() => late.text.toString() === a.text.toString(), { what: 'late joiner state' });
    const get = await getDoc(t.runtime, 'bob');
    const res = await get('n1');
    assert.equal(res.status, 200);
    assert.equal(res.json.text.body, a.text.toString());
    assert.equal(res.json.owner, 'alice');
    assert.equal((await (await getDoc(t.runtime, 'eve'))('n1')).status, 403);
    assert.equal((await get('nope')).status, 404);
  });

  it('a reader receives updates, but its edit is refused and the document is unchanged', async () => {
    const writer = await open(t.runtime.port, 'n1', 'alice');
    const reader = await open(t.runtime.port, 'n1', 'bob');
    const before = writer.text.toString();
    let denied = '';
    reader.text.insert(0, 'READER WAS HERE ');
    writer.text.insert(writer.text.length, '!');
    await waitFor(() => reader.text.toString().endsWith('!'), { what: 'reader receives the writer update' });
    await waitFor(async () => {
      const m = await t.runtime.metrics.getSingleMetricAsString('switchyard_docs_refused_writes_total');
      denied = m;
      return /switchyard_docs_refused_writes_total\{[^}]*\} [1-9]/.test(m);
    }, { what: 'refused write counted' });
    assert.equal(writer.text.toString(), `${before}!`);
    const res = await (await getDoc(t.runtime, 'alice'))('n1');
    assert.ok(!res.json.text.body.includes('READER'), `stored text: ${res.json.text.body}`);
    assert.ok(denied.length > 0);
  });

  it('a user not on the access list is closed with 4403; an unknown document with 4404; no token gets 401', async () => {
    const probe = async (docId: string, sub: string | null) =>
      new Promise<{ code?: number; status?: number }>((resolve) => {
        const q = sub ? `?token=${sub}` : '';
        const ws = new WebSocket(`ws://127.0.0.1:${t.runtime.port}/doc/${docId}${q}`);
        ws.on('close', (code) => resolve({ code }));
        ws.on('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode });
          ws.terminate();
        });
        ws.on('error', () => {});
      });
    assert.equal((await probe('n1', await docToken('eve'))).code, 4403);
    assert.equal((await probe('nope', await docToken('alice'))).code, 4404);
    assert.equal((await probe('n1', null)).status, 401);
  });

  it('awareness of one client appears at the others and disappears when it disconnects', async () => {
    await createDoc(t.runtime, 'alice', { id: 'aw', access: { write: ['*'] } });
    const a = await open(t.runtime.port, 'aw', 'alice');
    const b = await open(t.runtime.port, 'aw', 'bob');
    a.provider.awareness.setLocalStateField('user', { name: 'alice' });
    const aId = a.doc.clientID;
    await waitFor(() => b.provider.awareness.getStates().get(aId)?.user?.name === 'alice', { what: 'awareness at b' });
    a.destroy();
    await waitFor(() => !b.provider.awareness.getStates().has(aId), { what: 'awareness removed at b', timeoutMs: 5_000 });
  });

  it('bad input closes only that socket and leaves the document unchanged', async () => {
    await createDoc(t.runtime, 'alice', { id: 'bad', access: { write: ['*'] } });
    const good = await open(t.runtime.port, 'bad', 'alice');
    good.text.insert(0, 'intact');
    await waitFor(async () => (await (await getDoc(t.runtime, 'alice'))('bad')).json.text.body === 'intact', { what: 'content saved' });
    const token = await docToken('mallory');
    const raw = (frame: Uint8Array) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${t.runtime.port}/doc/bad?token=${token}`);
        ws.on('message', () => {}); // the server's sync step 1
        ws.on('open', () => setTimeout(() => ws.send(frame), 50));
        ws.on('close', (code) => resolve(code));
        ws.on('error', () => {});
      });
    const random = new Uint8Array(64).map(() => Math.floor(Math.random() * 256));
    random[0] = 0; // a sync message…
    random[1] = 2; // …of type update, with garbage inside
    const truncatedSync = new Uint8Array([0, 0, 10, 1, 2]); // step 1 announcing 10 bytes, carrying 2
    // A well-formed frame whose update claims a struct with an impossible content ref.
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, 2);
    encoding.writeVarUint8Array(e, new Uint8Array([1, 1, 200, 1, 0, 31, 0]));
    const badUpdate = encoding.toUint8Array(e);
    for (const frame of [random, truncatedSync, badUpdate, new Uint8Array([9, 9, 9])]) {
      assert.equal(await raw(frame), 4400, `frame ${Buffer.from(frame).toString('hex').slice(0, 20)} closes with 4400`);
    }
    good.text.insert(good.text.length, '!');
    const other = await open(t.runtime.port, 'bad', 'bob');
    await waitFor(() => other.text.toString() === 'intact!', { what: 'others unaffected' });
    assert.equal(good.provider.wsconnected, true);
  });
});
