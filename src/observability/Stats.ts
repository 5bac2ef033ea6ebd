import { errorMessage } from '../errors.js';
import type { Logger } from './logger.js';

/** One figure, or a group of figures flattened to `name.key`. */
export type StatValue = number | Readonly<Record<string, number>>;
export type StatProvider = () => StatValue | Promise<StatValue>;

/**
 * How an instance's figure combines into the cluster figure: `sum` (connections,
 * rooms, jobs), `max` (event-loop lag: the worst instance is what users feel),
 * `min`, or `none` (per-instance only, e.g. a fence token).
 */
export type Aggregate = 'sum' | 'max' | 'min' | 'none';

export interface StatOptions {
  /** @default 'sum' */
  readonly aggregate?: Aggregate;
}

export interface StatsRegistryOptions {
  /** A provider slower than this is left out of the snapshot (it must never stall the dashboard), ms. @default 1_000 */
  readonly providerTimeoutMs?: number;
}

/** A flat snapshot: `connections`, `actors.active`, `jobs.queued`, … → number. */
export type StatsSnapshot = Record<string, number>;

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

interface Entry {
  readonly provider: StatProvider;
  readonly aggregate: Aggregate;
}

/**
 * Where modules publish the figures an operator watches. Each module registers a
 * named provider once (`stats.register('docs', () => ({ loaded: n }))`); the stats
 * sampler snapshots them every second for the dashboard, `/api/stats` and the
 * instance heartbeat. A provider that throws or hangs is left out of that snapshot
 * and logged once — it never breaks the others.
 */
export class StatsRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly failing = new Set<string>();
  private readonly providerTimeoutMs: number;

  constructor(
    private readonly log: Logger,
    options: StatsRegistryOptions = {},
  ) {
    this.providerTimeoutMs = options.providerTimeoutMs ?? 1_000;
  }

  /** Adds a provider under `name` (letters, digits, `_`, `-`); returns a function that removes it. */
  register(name: string, provider: StatProvider, options: StatOptions = {}): () => void {
    if (!NAME.test(name)) throw new TypeError(`stat name ${JSON.stringify(name)}: letters, digits, _ and - only, starting with a letter`);
    if (this.entries.has(name)) throw new TypeError(`stat ${JSON.stringify(name)} is already registered`);
    const entry: Entry = { provider, aggregate: options.aggregate ?? 'sum' };
    this.entries.set(name, entry);
    return () => {
      if (this.entries.get(name) === entry) this.entries.delete(name);
    };
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** How a flattened key (`name` or `name.key`) aggregates across instances; unknown keys sum. */
  aggregateOf(key: string): Aggregate {
    const dot = key.indexOf('.');
    return this.entries.get(dot < 0 ? key : key.slice(0, dot))?.aggregate ?? 'sum';
  }

  /** Every provider's current figures, flattened; non-finite values are left out. */
  async snapshot(): Promise<StatsSnapshot> {
    const out: StatsSnapshot = {};
    await Promise.all(
      [...this.entries].map(async ([name, entry]) => {
        const value = await this.read(name, entry);
        if (value === undefined) return;
        if (typeof value === 'number') {
          if (Number.isFinite(value)) out[name] = value;
          return;
        }
        for (const [key, v] of Object.entries(value)) if (typeof v === 'number' && Number.isFinite(v)) out[`${name}.${key}`] = v;
      }),
    );
    return out;
  }

  private async read(name: string, entry: Entry): Promise<StatValue | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        Promise.resolve().then(entry.provider),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.providerTimeoutMs} ms`)), this.providerTimeoutMs);
        }),
      ]);
      if (this.failing.delete(name)) this.log.info({ stat: name }, 'stat provider answers again');
      return value;
    } catch (err) {
      if (!this.failing.has(name)) this.log.warn({ stat: name, err: errorMessage(err) }, 'stat provider failed; left out until it answers');
      this.failing.add(name);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Combines per-instance snapshots into cluster figures by each key's aggregate (`none` keys are left out). */
export function aggregateSnapshots(snapshots: readonly StatsSnapshot[], aggregateOf: (key: string) => Aggregate): StatsSnapshot {
  const out: StatsSnapshot = {};
  for (const snap of snapshots) {
    for (const [key, value] of Object.entries(snap)) {
      const how = aggregateOf(key);
      const prev = out[key];
      if (how === 'none') continue;
      if (prev === undefined) out[key] = value;
      else if (how === 'sum') out[key] = prev + value;
      else if (how === 'max') out[key] = Math.max(prev, value);
      else out[key] = Math.min(prev, value);
    }
  }
  return out;
}
