/**
 * Actor hot-path cost against the simplest thing that could work: a plain array drained by
 * one async loop. Target: tell→handled throughput at least half the baseline's.
 * Run: npx tsc -p tsconfig.json && node dist/bench/actors.bench.js
 */
import { Bench, type Task } from 'tinybench';
import { Registry } from 'prom-client';
import { ActorSystem } from '../src/actors/index.js';
import { fmt, reportResult } from './lib/results.js';

const N = 10_000; // messages per throughput iteration
const ASKS = 1_000; // sequential round trips per ask iteration

/** The baseline: an array plus one async drain loop awaiting a handler per item. */
class PlainQueue<T> {
  private items: T[] = [];
  private head = 0;
  private draining = false;
  constructor(private readonly handler: (item: T) => unknown) {}

  push(item: T): void {
    this.items.push(item);
    if (!this.draining) {
      this.draining = true;
      void this.drain();
    }
  }

  private async drain(): Promise<void> {
    while (this.head < this.items.length) await this.handler(this.items[this.head++]!);
    this.items = [];
    this.head = 0;
    this.draining = false;
  }
}

/** Counts handled messages and resolves when the N-th arrives. */
function finishLine() {
  let handled = 0;
  let done: () => void = () => {};
  return {
    arm(): Promise<void> {
      handled = 0;
      return new Promise<void>((r) => (done = r));
    },
    async onAsync(_msg: number): Promise<void> {
      if (++handled === N) done();
    },
    onSync(_msg: number): void {
      if (++handled === N) done();
    },
  };
}

const system = new ActorSystem({ registry: new Registry() });
const asyncLine = finishLine();
const syncLine = finishLine();
system.register<number>('sink', () => ({ receive: (m) => asyncLine.onAsync(m) }), { mailboxCapacity: 2 * N, idleTimeoutMs: 0 });
system.register<number>('syncSink', () => ({ receive: (m) => syncLine.onSync(m) }), { mailboxCapacity: 2 * N, idleTimeoutMs: 0 });
system.register<number, number>('echo', () => ({ receive: async (m) => m + 1 }), { idleTimeoutMs: 0 });

const baseLine = finishLine();
const baseQueue = new PlainQueue<number>((m) => baseLine.onAsync(m));
const baseAsk = new PlainQueue<{ msg: number; resolve: (v: number) => void }>(async (item) => item.resolve(item.msg + 1));

/**
 * Tasks run one after another in one process, so a noisy neighbour or a GC in one task
 * skews a single ratio; the bench runs ROUNDS times and keeps each figure's median round.
 */
const ROUNDS = 3;

function makeBench(): Bench {
  return new Bench({ time: 1_000, warmupTime: 200 })
    .add('baseline: push→handled', async () => {
      const finished = baseLine.arm();
      for (let i = 0; i < N; i++) baseQueue.push(i);
      await finished;
    })
    .add('switchyard: tell→handled (async receive)', async () => {
      const finished = asyncLine.arm();
      for (let i = 0; i < N; i++) system.tell('sink', 'one', i);
      await finished;
    })
    .add('switchyard: tell→handled (sync receive)', async () => {
      const finished = syncLine.arm();
      for (let i = 0; i < N; i++) system.tell('syncSink', 'one', i);
      await finished;
    })
    .add('baseline: ask round trip', async () => {
      for (let i = 0; i < ASKS; i++) await new Promise<number>((resolve) => baseAsk.push({ msg: i, resolve }));
    })
    .add('switchyard: ask round trip', async () => {
      for (let i = 0; i < ASKS; i++) await system.ask<number>('echo', 'one', i);
    });
}

/** Messages (or round trips) per second, from the mean time of one iteration. */
function perSecond(task: Task | undefined, perIteration: number): { rate: number; rme: number } {
  const r = task?.result;
  if (r === undefined || r.state !== 'completed') throw new Error(`task ${task?.name} did not complete: ${r?.state}`);
  return { rate: (perIteration * 1000) / r.latency.mean, rme: r.latency.rme };
}

interface Round {
  base: { rate: number; rme: number };
  tell: { rate: number; rme: number };
  tellSync: { rate: number; rme: number };
  baseAsk: { rate: number; rme: number };
  ask: { rate: number; rme: number };
}

const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const bench = makeBench();
  await bench.run();
  rounds.push({
    base: perSecond(bench.getTask('baseline: push→handled'), N),
    tell: perSecond(bench.getTask('switchyard: tell→handled (async receive)'), N),
    tellSync: perSecond(bench.getTask('switchyard: tell→handled (sync receive)'), N),
    baseAsk: perSecond(bench.getTask('baseline: ask round trip'), ASKS),
    ask: perSecond(bench.getTask('switchyard: ask round trip'), ASKS),
  });
  const r = rounds[i]!;
  console.log(`round ${i + 1}: tell ratio ${(r.tell.rate / r.base.rate).toFixed(2)}, ask ratio ${(r.ask.rate / r.baseAsk.rate).toFixed(2)}`);
}
/** The round with the median tell ratio: figures and ratio come from the same round. */
const byRatio = [...rounds].sort((a, b) => a.tell.rate / a.base.rate - b.tell.rate / b.base.rate);
const { base, tell, tellSync, baseAsk: baseAskRate, ask } = byRatio[Math.floor(byRatio.length / 2)]!;

const TARGET = 0.5;
const row = (task: string, unit: string, r: { rate: number; rme: number }, baseline: number, target?: number) => ({
  task,
  [`${unit}/s`]: fmt(r.rate),
  '±%': r.rme.toFixed(1),
  'ratio vs baseline': (r.rate / baseline).toFixed(2),
  verdict: target === undefined ? '' : r.rate / baseline >= target ? `PASS (>= ${target})` : `FAIL (< ${target})`,
});
console.log(`\nactors bench — ${N} messages per throughput iteration, ${ASKS} sequential asks per ask iteration; median of ${ROUNDS} rounds`);
console.table([
  row('baseline push→handled', 'msgs', base, base.rate),
  row('switchyard tell→handled (async receive)', 'msgs', tell, base.rate, TARGET),
  row('switchyard tell→handled (sync receive)', 'msgs', tellSync, base.rate),
  row('baseline ask round trip', 'asks', baseAskRate, baseAskRate.rate),
  row('switchyard ask round trip', 'asks', ask, baseAskRate.rate),
]);

reportResult(
  'actors',
  {
    tell_msgs_per_s: Math.round(tell.rate),
    tell_sync_msgs_per_s: Math.round(tellSync.rate),
    baseline_msgs_per_s: Math.round(base.rate),
    tell_throughput_ratio: Number((tell.rate / base.rate).toFixed(3)),
    tell_sync_throughput_ratio: Number((tellSync.rate / base.rate).toFixed(3)),
    ask_per_s: Math.round(ask.rate),
    baseline_ask_per_s: Math.round(baseAskRate.rate),
    ask_round_trip_ratio: Number((ask.rate / baseAskRate.rate).toFixed(3)),
    ask_round_trip_us: Number((1e6 / ask.rate).toFixed(2)),
  },
  { tell_throughput_ratio: { min: TARGET } },
);
await system.shutdown(1_000);
