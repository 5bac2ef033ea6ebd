import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { checkUpdate } from '../src/docs/checkUpdate.js';

/** Updates with every kind of content a client can send: text with formats and embeds, any values, nested types, deletions, a sub-document. */
function corpus(): Uint8Array[] {
  const updates: Uint8Array[] = [];
  const doc = new Y.Doc();
  doc.on('update', (u: Uint8Array) => updates.push(u));
  const text = doc.getText('body');
  text.insert(0, 'hello wörld 🎉 ');
  text.format(0, 5, { bold: true, color: { r: 1 } });
  text.insertEmbed(3, { image: 'x.png' });
  text.delete(1, 2);
  const map = doc.getMap('m');
  map.set('n', 1);
  map.set('big', 2 ** 40);
  map.set('neg', -7);
  map.set('f', 1.5);
  map.set('f32', 0.5);
  map.set('bi', 12n);
  map.set('obj', { p: 1, s: 2, t: [1.25, 2, 'x', null, true, false, { deep: [[[]]] }], 'ключ': 'значение' });
  map.set('bytes', new Uint8Array([1, 2, 3]));
  map.set('undef', undefined);
  map.set('n', 2); // overwrite: a deletion
  const arr = new Y.Array<unknown>();
  map.set('arr', arr);
  arr.push([1, 'two', { three: 3 }]);
  arr.delete(0, 1);
  const nested = new Y.Map<unknown>();
  arr.push([nested, new Y.Text('inner')]);
  nested.set('k', 'v');
  const xml = doc.getXmlFragment('xml');
  const el = new Y.XmlElement('p');
  el.setAttribute('class', 'c');
  xml.insert(0, [el, new Y.XmlText('t'), new Y.XmlHook('hook') as unknown as Y.XmlText]);
  el.insert(0, [new Y.XmlText('inside')]);
  map.set('sub', new Y.Doc({ guid: 'sub-1' }));
  map.delete('obj');
  updates.push(Y.encodeStateAsUpdate(doc));
  doc.destroy();
  // A legacy JSON content (ref 2), as old clients wrote it: one root map key.
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1); // one client
  encoding.writeVarUint(e, 1); // one struct
  encoding.writeVarUint(e, 42); // client
  encoding.writeVarUint(e, 0); // clock
  encoding.writeUint8(e, 2 | 32); // JSON content, parent sub
  encoding.writeVarUint(e, 1); // parent is a root type…
  encoding.writeVarString(e, 'legacy'); // …named
  encoding.writeVarString(e, 'key');
  encoding.writeVarUint(e, 2);
  encoding.writeVarString(e, '{"a":[1,2]}');
  encoding.writeVarString(e, 'undefined');
  encoding.writeVarUint(e, 0); // empty delete set
  updates.push(encoding.toUint8Array(e));
  return updates;
}

const yjsThrows = (u: Uint8Array): boolean => {
  try {
    Y.decodeUpdate(u);
    return false;
  } catch {
    return true;
  }
};

const checkThrows = (u: Uint8Array): boolean => {
  try {
    checkUpdate(u);
    return false;
  } catch {
    return true;
  }
};

/** A small deterministic PRNG (mulberry32): the same mutations on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

it('checkUpdate accepts every update a Yjs client writes, of every content kind', () => {
  const updates = corpus();
  assert.ok(updates.length > 20);
  for (const u of updates) {
    assert.equal(yjsThrows(u), false, 'precondition: Yjs reads it');
    assert.doesNotThrow(() => checkUpdate(u));
  }
  assert.doesNotThrow(() => checkUpdate(new Uint8Array([0, 0])));
});

it('checkUpdate refuses every truncation and every mutation that Yjs cannot read', () => {
  const random = prng(14);
  let refusedByBoth = 0;
  for (const u of corpus()) {
    const mutants: Uint8Array[] = [];
    for (let len = 0; len < u.length; len++) mutants.push(u.slice(0, len));
    for (let k = 0; k < 200; k++) {
      const m = u.slice();
      const at = Math.floor(random() * m.length);
      m[at] = random() < 0.5 ? Math.floor(random() * 256) : m[at]! ^ (1 << Math.floor(random() * 8));
      mutants.push(m);
    }
    for (const m of mutants) {
      const yjs = yjsThrows(m);
      if (yjs) {
        assert.equal(checkThrows(m), true, `Yjs refuses ${Buffer.from(m).toString('hex')} but checkUpdate accepts it`);
        refusedByBoth++;
      }
    }
  }
  assert.ok(refusedByBoth > 1000, `only ${refusedByBoth} malformed mutants were exercised`);
});

it('checkUpdate refuses invalid UTF-8 in a key and values nested past its depth bound', () => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint(e, 7);
  encoding.writeVarUint(e, 0);
  encoding.writeUint8(e, 8 | 32); // any content, parent sub
  encoding.writeVarUint(e, 1);
  encoding.writeVarString(e, 'm');
  encoding.writeVarUint8Array(e, new Uint8Array([0xc3, 0x28])); // not UTF-8
  encoding.writeVarUint(e, 1);
  encoding.writeUint8(e, 126); // null
  encoding.writeVarUint(e, 0);
  const badKey = encoding.toUint8Array(e);
  assert.equal(yjsThrows(badKey), true, 'precondition: lib0 refuses it');
  assert.throws(() => checkUpdate(badKey));

  const deep = encoding.createEncoder();
  encoding.writeVarUint(deep, 1);
  encoding.writeVarUint(deep, 1);
  encoding.writeVarUint(deep, 7);
  encoding.writeVarUint(deep, 0);
  encoding.writeUint8(deep, 8 | 32);
  encoding.writeVarUint(deep, 1);
  encoding.writeVarString(deep, 'm');
  encoding.writeVarString(deep, 'k');
  encoding.writeVarUint(deep, 1);
  for (let i = 0; i < 2000; i++) {
    encoding.writeUint8(deep, 117); // array of one
    encoding.writeVarUint(deep, 1);
  }
  encoding.writeUint8(deep, 126);
  encoding.writeVarUint(deep, 0);
  assert.throws(() => checkUpdate(encoding.toUint8Array(deep)), /nested too deeply/);
});
