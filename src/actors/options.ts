import { ConfigError } from '../errors.js';
import type { ActorKindOptions, OverflowPolicy } from './types.js';

/** ActorKindOptions after defaults and validation: every field present, frozen. */
export interface ResolvedKindOptions {
  readonly mailboxCapacity: number;
  readonly overflow: OverflowPolicy;
  readonly idleTimeoutMs: number;
  readonly askTimeoutMs: number;
  readonly restart: {
    readonly minBackoffMs: number;
    readonly maxBackoffMs: number;
    readonly maxRestarts: number;
    readonly withinMs: number;
  };
}

export const DEFAULT_KIND_OPTIONS: ResolvedKindOptions = Object.freeze({
  mailboxCapacity: 1000,
  overflow: 'reject',
  idleTimeoutMs: 60_000, // ms
  askTimeoutMs: 5_000, // ms
  restart: Object.freeze({ minBackoffMs: 100, maxBackoffMs: 10_000, maxRestarts: 5, withinMs: 60_000 }),
});

function check(kind: string, key: string, value: number, rule: string, ok: boolean): number {
  if (!ok) throw new ConfigError(`actor kind "${kind}": ${key} = ${String(value)} must be ${rule}`);
  return value;
}

const int = (v: number, min: number) => Number.isInteger(v) && v >= min;

/** Merges with defaults and validates once, at register time, so the hot path trusts its numbers. */
export function resolveKindOptions(kind: string, options: ActorKindOptions = {}): ResolvedKindOptions {
  const d = DEFAULT_KIND_OPTIONS;
  const r = { ...d.restart, ...options.restart };
  const overflow = options.overflow ?? d.overflow;
  if (overflow !== 'reject' && overflow !== 'drop-oldest') {
    throw new ConfigError(`actor kind "${kind}": overflow = ${String(overflow)} must be 'reject' or 'drop-oldest'`);
  }
  const minBackoffMs = check(kind, 'restart.minBackoffMs', r.minBackoffMs, 'an integer >= 0', int(r.minBackoffMs, 0));
  return Object.freeze({
    mailboxCapacity: check(kind, 'mailboxCapacity', options.mailboxCapacity ?? d.mailboxCapacity, 'an integer >= 1', int(options.mailboxCapacity ?? d.mailboxCapacity, 1)),
    overflow,
    idleTimeoutMs: check(kind, 'idleTimeoutMs', options.idleTimeoutMs ?? d.idleTimeoutMs, 'an integer >= 0 (0 = never)', int(options.idleTimeoutMs ?? d.idleTimeoutMs, 0)),
    askTimeoutMs: check(kind, 'askTimeoutMs', options.askTimeoutMs ?? d.askTimeoutMs, 'an integer >= 1', int(options.askTimeoutMs ?? d.askTimeoutMs, 1)),
    restart: Object.freeze({
      minBackoffMs,
      maxBackoffMs: check(kind, 'restart.maxBackoffMs', r.maxBackoffMs, `an integer >= minBackoffMs (${minBackoffMs})`, int(r.maxBackoffMs, minBackoffMs)),
      maxRestarts: check(kind, 'restart.maxRestarts', r.maxRestarts, 'an integer >= 0', int(r.maxRestarts, 0)),
      withinMs: check(kind, 'restart.withinMs', r.withinMs, 'an integer >= 1', int(r.withinMs, 1)),
    }),
  });
}
