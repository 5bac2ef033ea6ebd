import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { TURN_TIMING_SAMPLE } from './Mailbox.js';

/** Turn-duration bucket bounds, seconds: sub-ms in-memory turns up to multi-second I/O turns. */
export const TURN_BUCKETS: readonly number[] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/**
 * Plain counters per kind. The hot path only bumps these numbers; Prometheus reads them at
 * scrape time through collect(), so a turn never pays for label hashing.
 */
export class KindStats {
  active = 0;
  activations = 0;
  passivations = 0;
  restarts = 0;
  escalations = 0;
  /** Exact number of turns. */
  turns = 0;
  /**
   * The duration histogram is fed by sampled turns (1 in TURN_TIMING_SAMPLE), each weighted
   * by the sample rate, so its count and sum estimate all turns without a clock read per turn.
   */
  timedTurns = 0;
  turnSecondsSum = 0;
  /** Per-bucket (not cumulative) weighted turn counts; the last slot is +Inf. */
  readonly turnBuckets = new Float64Array(TURN_BUCKETS.length + 1);

  /** `ms` is the turn's duration when it was timed, else negative. */
  countTurn(ms: number): void {
    this.turns++;
    if (ms < 0) return;
    const seconds = ms / 1000;
    this.timedTurns += TURN_TIMING_SAMPLE;
    this.turnSecondsSum += seconds * TURN_TIMING_SAMPLE;
    let i = 0;
    while (i < TURN_BUCKETS.length && seconds > TURN_BUCKETS[i]!) i++;
    this.turnBuckets[i]! += TURN_TIMING_SAMPLE;
  }
}

export interface KindSnapshot {
  readonly active: number;
  readonly mailboxDepth: number;
  readonly activations: number;
  readonly passivations: number;
  readonly restarts: number;
  readonly escalations: number;
  readonly turns: number;
  /** Estimated from sampled turns (see KindStats.timedTurns). */
  readonly turnSecondsSum: number;
}

/** `ActorSystem.stats()`: the same figures as the Prometheus metrics, as a plain object. */
export interface ActorSystemStats {
  readonly active: number;
  readonly mailboxDepth: number;
  readonly kinds: Readonly<Record<string, KindSnapshot>>;
  readonly deadLetters: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
}

/** What the metrics read at scrape time. */
export interface MetricsSource {
  kinds(): Iterable<{ readonly kind: string; readonly stats: KindStats; readonly mailboxDepth: number }>;
  deadLetterCounts(): Record<string, number>;
}

type CounterField = 'activations' | 'passivations' | 'restarts' | 'escalations' | 'turns';

/** Registers the actor metrics on `registry`. Register one ActorSystem per registry (names are global to it). */
export function registerActorMetrics(registry: Registry, source: MetricsSource): void {
  const registers = [registry];
  new Gauge({
    name: 'switchyard_actor_mailbox_depth',
    help: 'Messages queued in actor mailboxes, per kind',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const k of source.kinds()) this.set({ kind: k.kind }, k.mailboxDepth);
    },
  });
  new Gauge({
    name: 'switchyard_actors_active',
    help: 'Active (not passivated) actors, per kind',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const k of source.kinds()) this.set({ kind: k.kind }, k.stats.active);
    },
  });
  const counter = (name: string, help: string, field: CounterField) =>
    new Counter({
      name,
      help,
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const k of source.kinds()) this.inc({ kind: k.kind }, k.stats[field]);
      },
    });
  counter('switchyard_actor_activations_total', 'Actor activations (first message or after passivation)', 'activations');
  counter('switchyard_actor_passivations_total', 'Actors passivated after their idle timeout', 'passivations');
  counter('switchyard_actor_restarts_total', 'Actor restarts after a crash', 'restarts');
  counter('switchyard_actor_turns_total', 'Messages handled (turns), exact', 'turns');
  counter('switchyard_actor_escalations_total', 'Actors stopped by their parent after too many restarts', 'escalations');
  new Counter({
    name: 'switchyard_dead_letters_total',
    help: 'Messages that were never handled, per reason',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(source.deadLetterCounts())) this.inc({ reason }, n);
    },
  });
  registry.registerMetric(turnHistogram(source));
}

/**
 * prom-client's Histogram hashes labels on every observe (~200 ns, more than a whole
 * turn), so turns are bucketed in KindStats and this collector only formats them.
 * It has the shape the Registry reads from its own metrics (name, help, type, get, reset).
 */
function turnHistogram(source: MetricsSource): Metric {
  const name = 'switchyard_actor_turn_seconds';
  const help = `Duration of one actor turn (handling one message), per kind; sampled 1 turn in ${TURN_TIMING_SAMPLE}, weighted`;
  const collector = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const { kind, stats } of source.kinds()) {
        let cumulative = 0;
        TURN_BUCKETS.forEach((le, i) => {
          cumulative += stats.turnBuckets[i]!;
          values.push({ labels: { le, kind }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { le: '+Inf', kind }, value: stats.timedTurns, metricName: `${name}_bucket` });
        values.push({ labels: { kind }, value: stats.turnSecondsSum, metricName: `${name}_sum` });
        values.push({ labels: { kind }, value: stats.timedTurns, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset() {
      // The figures belong to the actor system; a registry reset does not rewrite history.
    },
  };
  return collector as unknown as Metric;
}
