import './helpers/guard.js';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildInstance } from './helpers/runtime.js';
import { Client, docToken, getDoc } from './helpers/docs.js';
import { sleep } from './helpers/wait.js';

const MAX_WAIT_MS = 5_000; // docs.persistMaxWaitMs default

/** Real processes (`node dist/src/main.js`) stopped with SIGTERM and SIGKILL. */
describe('documents: durability across SIGTERM and SIGKILL', () => {
  const instances: ChildInstance[] = [];
  const clients: Client[] = [];
  const start = async (dataDir: string) => {
    const child = await ChildInstance.start({ DATA_DIR: dataDir });
    instances.push(child);
    return child;
  };
  after(async () => {
    for (const c of clients) c.destroy();
    for (const i of instances) await i.kill();
  });
  const create = async (port: number, id: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/docs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await docToken('alice')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id }),
    });
    assert.equal(res.status, 201);
  };

  it('SIGTERM loses nothing, even edits made inside the debounce window', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'swy-docs-term-'));
    const first = await start(dataDir);
    await create(first.port, 'term');
    const c = await Client.open(first.port, 'term', 'alice');
    clients.push(c);
    c.text.insert(0, 'saved on shutdown');
    await sleep(100); // delivered, but well inside the 500 ms debounce
    assert.equal(await first.terminate(), 0);
    c.destroy();
    const second = await start(dataDir);
    const res = await (await getDoc(second.port, 'alice'))('term');
    assert.equal(res.json.text.body, 'saved on shutdown');
  });

  it('SIGKILL loses nothing older than the maximum debounce wait, even under continuous typing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'swy-docs-kill-'));
    const first = await start(dataDir);
    await create(first.port, 'kill');
    const c = await Client.open(first.port, 'kill', 'alice');
    clients.push(c);
    // One edit every 100 ms: the 500 ms debounce never settles, so only the max wait forces saves.
    const typedAt: number[] = [];
    const started = Date.now();
    while (Date.now() - started < MAX_WAIT_MS + 2_500) {
      c.text.insert(c.text.length, `${String(typedAt.length).padStart(4, '0')};`);
      typedAt.push(Date.now());
      await sleep(100);
    }
    const killedAt = Date.now();
    await first.kill();
    c.destroy();
    const second = await start(dataDir);
    const text: string = (await (await getDoc(second.port, 'alice'))('kill')).json.text.body;
    const kept = text.split(';').filter(Boolean).map(Number);
    // Every edit typed more than MAX_WAIT (plus delivery slack) before the kill must be there, in order.
    const mustHave = typedAt.filter((at) => at < killedAt - MAX_WAIT_MS - 500).length;
    assert.ok(mustHave > 10, 'the test typed long enough');
    assert.ok(kept.length >= mustHave, `kept ${kept.length} edits; ${mustHave} were older than the max wait`);
    assert.deepEqual(kept, kept.map((_, i) => i), 'a prefix of the typed edits, nothing garbled');
  });
});
