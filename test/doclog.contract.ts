import './helpers/guard.js';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { compareIds, LOG_START, type DocumentLog, type LogEntry, type LogSubscriber } from '../src/coordination/DocumentLog.js';
import { sleep, waitFor } from './helpers/wait.js';

/** Two instances' views of one backend's document log; for memory both are the same log. */
export interface LogPair {
  readonly a: DocumentLog;
  readonly b: DocumentLog;
  cleanup(): Promise<void>;
}

/** A subscriber that records every entry it is handed and every gap. */
class Recorder implements LogSubscriber {
  readonly got: LogEntry[] = [];
  gaps = 0;
  entries(entries: readonly LogEntry[]): void {
    this.got.push(...entries);
  }
  gap(): void {
    this.gaps += 1;
  }
  get ids(): string[] {
    return this.got.map((e) => e.id);
  }
  get texts(): string[] {
    return this.got.map((e) => Buffer.from(e.update).toString());
  }
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
/** The id right after `id` (`<ms>-<seq+1>`), to trim a log up to and including `id`. */
const after = (id: string) => {
  const [ms, seq] = id.split('-');
  return `${ms}-${Number(seq) + 1}`;
};
let docSeq = 0;
/** A fresh document id per test, with a `:` as real ids may have. */
const docId = () => `doc:${process.pid}:${++docSeq}`;

/** The one suite every DocumentLog adapter must pass; each test gets fresh logs. */
export function documentLogContract(name: string, makePair: () => Promise<LogPair>): void {
  describe(`document log contract: ${name}`, () => {
    let pair: LogPair | null = null;
    const open = async () => (pair = await makePair());
    afterEach(async () => {
      await pair?.cleanup();
      pair = null;
    });

    it('appends with increasing ids; the backlog holds every entry in order with its origin', async () => {
      const { a, b } = await open();
      const id = docId();
      assert.deepEqual(await a.backlog(id), { entries: [], lastId: LOG_START });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await (i % 2 ? b : a).append(id, i % 2 ? 'B' : 'A', bytes(`u${i}`)));
      for (let i = 1; i < ids.length; i++) assert.ok(compareIds(ids[i]!, ids[i - 1]!) > 0, `${ids[i]} after ${ids[i - 1]}`);
      const backlog = await b.backlog(id);
      assert.deepEqual(backlog.entries.map((e) => e.id), ids);
      assert.deepEqual(backlog.entries.map((e) => Buffer.from(e.update).toString()), ['u0', 'u1', 'u2', 'u3', 'u4']);
      assert.deepEqual(backlog.entries.map((e) => e.origin), ['A', 'B', 'A', 'B', 'A']);
      assert.equal(backlog.lastId, ids.at(-1));
    });

    it('a subscriber gets exactly the entries after its cursor, each once, in order, from either instance', async () => {
      const { a, b } = await open();
      const id = docId();
      const before = await a.append(id, 'A', bytes('old'));
      const rec = new Recorder();
      const off = b.subscribe(id, before, rec);
      try {
        for (let i = 0; i < 30; i++) {
          await (i % 2 ? a : b).append(id, 'X', bytes(`n${i}`));
          if (i % 7 === 0) await sleep(5); // appends both within one turn and across turns
        }
        await waitFor(() => rec.got.length >= 30, { what: 'thirty entries delivered', timeoutMs: 5_000 });
        await sleep(100); // a duplicate would arrive in this window
        assert.deepEqual(rec.texts, Array.from({ length: 30 }, (_, i) => `n${i}`));
        assert.equal(new Set(rec.ids).size, 30, 'no entry delivered twice');
        assert.ok(!rec.ids.includes(before), 'the entry at the cursor is not delivered again');
      } finally {
        off();
      }
    });

    it('subscribing from the start catches up the existing entries, then continues', async () => {
      const { a, b } = await open();
      const id = docId();
      await a.append(id, 'A', bytes('e1'));
      await a.append(id, 'A', bytes('e2'));
      const rec = new Recorder();
      const off = b.subscribe(id, LOG_START, rec);
      try {
        await waitFor(() => rec.got.length === 2, { what: 'backlog delivered' });
        await a.append(id, 'A', bytes('e3'));
        await waitFor(() => rec.got.length === 3, { what: 'new entry delivered' });
        assert.deepEqual(rec.texts, ['e1', 'e2', 'e3']);
      } finally {
        off();
      }
    });

    it('every subscriber of a document gets every entry; other documents stay apart (ids that share a prefix too)', async () => {
      const { a, b } = await open();
      const id = docId();
      const other = `${id}:log`; // would meet `${id}`'s keys if ids were not escaped
      const [r1, r2, rOther] = [new Recorder(), new Recorder(), new Recorder()];
      const offs = [a.subscribe(id, LOG_START, r1), b.subscribe(id, LOG_START, r2), b.subscribe(other, LOG_START, rOther)];
      try {
        await a.append(id, 'A', bytes('x1'));
        await b.append(other, 'B', bytes('o1'));
        await b.append(id, 'B', bytes('x2'));
        await waitFor(() => r1.got.length === 2 && r2.got.length === 2 && rOther.got.length === 1, { what: 'deliveries' });
        await sleep(100);
        assert.deepEqual(r1.texts, ['x1', 'x2']);
        assert.deepEqual(r2.texts, ['x1', 'x2']);
        assert.deepEqual(rOther.texts, ['o1']);
        assert.deepEqual((await a.backlog(other)).entries.map((e) => Buffer.from(e.update).toString()), ['o1']);
      } finally {
        for (const off of offs) off();
      }
    });

    it('after a snapshot, trimming drops the covered entries; the saved marker and later entries survive', async () => {
      const { a, b } = await open();
      const id = docId();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await a.append(id, 'A', bytes(`t${i}`)));
      assert.equal(await b.savedUpTo(id), null);
      // A save covered t0..t3: the writer marks it and trims below the snapshot's id.
      await a.markSaved(id, ids[3]!);
      await a.trim(id, ids[3]!);
      assert.equal(await b.savedUpTo(id), ids[3]);
      const backlog = await b.backlog(id);
      assert.deepEqual(backlog.entries.map((e) => Buffer.from(e.update).toString()), ['t3', 't4', 't5']);
      assert.equal(backlog.lastId, ids[5]);
      const rec = new Recorder();
      const off = b.subscribe(id, LOG_START, rec);
      try {
        await a.append(id, 'A', bytes('t6'));
        await waitFor(() => rec.got.length === 4, { what: 'what is left plus the new entry' });
        assert.deepEqual(rec.texts, ['t3', 't4', 't5', 't6']);
        // Trimming everything leaves an empty log that still takes appends.
        await a.trim(id, after(await a.append(id, 'A', bytes('t7'))));
        await waitFor(() => rec.got.length === 5, { what: 't7 delivered' });
        assert.deepEqual((await b.backlog(id)).entries, []);
      } finally {
        off();
      }
    });

    it('entries trimmed before a subscriber read them are reported as a gap; a cursor at the trim point is not', async () => {
      const { a, b } = await open();
      const id = docId();
      const [e1, e2] = [await a.append(id, 'A', bytes('g1')), await a.append(id, 'A', bytes('g2'))];
      await a.append(id, 'A', bytes('g3'));
      await a.markSaved(id, e2);
      // Trims g1 and g2: a reader at g1 never saw g2, a reader at g2 missed nothing.
      await a.trim(id, after(e2));
      const [behind, atTrim] = [new Recorder(), new Recorder()];
      const offs = [b.subscribe(id, e1, behind), a.subscribe(id, e2, atTrim)];
      try {
        await waitFor(() => behind.got.length === 1 && atTrim.got.length === 1, { what: 'what is left delivered' });
        await a.append(id, 'A', bytes('g4'));
        await waitFor(() => behind.got.length === 2 && atTrim.got.length === 2, { what: 'live entry' });
        await sleep(50);
        assert.equal(behind.gaps, 1, 'the reader behind the trim is told once, to reload the stored state');
        assert.deepEqual(behind.texts, ['g3', 'g4']);
        assert.equal(atTrim.gaps, 0, 'no gap for a reader that saw every trimmed entry');
        assert.deepEqual(atTrim.texts, ['g3', 'g4']);
      } finally {
        for (const off of offs) off();
      }
    });

    it('unsubscribing stops delivery; re-subscribing from the last id seen catches up exactly what was missed', async () => {
      const { a, b } = await open();
      const id = docId();
      const first = new Recorder();
      const off = b.subscribe(id, LOG_START, first);
      await a.append(id, 'A', bytes('r1'));
      await waitFor(() => first.got.length === 1, { what: 'r1' });
      off();
      await a.append(id, 'A', bytes('r2'));
      await a.append(id, 'A', bytes('r3'));
      await sleep(100);
      assert.deepEqual(first.texts, ['r1'], 'nothing after unsubscribe');
      const again = new Recorder();
      const off2 = b.subscribe(id, first.ids.at(-1)!, again);
      try {
        await waitFor(() => again.got.length === 2, { what: 'missed entries' });
        await a.append(id, 'A', bytes('r4'));
        await waitFor(() => again.got.length === 3, { what: 'live again' });
        await sleep(50);
        assert.deepEqual(again.texts, ['r2', 'r3', 'r4']);
      } finally {
        off2();
      }
    });

    it('drop forgets a deleted document\'s entries and marker, and no other document\'s', async () => {
      const { a, b } = await open();
      const [id, other] = [docId(), docId()];
      const last = await a.append(id, 'A', bytes('d1'));
      await a.append(other, 'A', bytes('keep'));
      await a.markSaved(id, last);
      await b.drop(id);
      assert.deepEqual((await a.backlog(id)).entries, []);
      assert.equal(await a.savedUpTo(id), null);
      assert.equal((await a.backlog(other)).entries.length, 1);
    });

    it('carries binary updates unchanged', async () => {
      const { a, b } = await open();
      const id = docId();
      const update = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) % 256);
      await a.append(id, 'A', update.subarray(1, 4000));
      const [entry] = (await b.backlog(id)).entries;
      assert.deepEqual(entry!.update, update.subarray(1, 4000));
    });
  });
}
