import type { Registry } from 'prom-client';
import { ActorStoppedError, ErrorCode, SwitchyardError } from '../errors.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { ActorCell, type CellHost, type KindEntry } from './ActorCell.js';
import { KindStats, registerActorMetrics, type ActorSystemStats, type KindSnapshot, type MetricsSource } from './ActorMetrics.js';
import { AskTimeouts } from './Ask.js';
import { DeadLetters } from './DeadLetters.js';
import { resolveKindOptions } from './options.js';
import { Topic } from './Topic.js';
import type { ActorAddress, ActorKindOptions, ActorRef, BehaviorFactory, Escalation } from './types.js';

export interface ActorSystemOptions {
  /** @default silentLogger() */
  logger?: Logger;
  /** When given, the actor metrics are registered on it (one ActorSystem per registry). */
  registry?: Registry;
  /** Wall clock for dead-letter and escalation timestamps and restart-intensity windows, ms. @default Date.now */
  now?: () => number;
  /** Source of restart jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Dead letters kept in `deadLetters.recent()`. @default 100 */
  deadLetterBuffer?: number;
}

export interface Observable<E> {
  subscribe(listener: (event: E) => void): () => void;
}

export interface ShutdownReport {
  /** Every mailbox emptied before the deadline. */
  readonly drained: boolean;
  /** Actors stopped. */
  readonly stopped: number;
  /** Dead letters published during shutdown. */
  readonly deadLettered: number;
}

/** A typed handle on one registered kind, returned by `register`. */
export interface ActorKind<M, R> {
  readonly name: string;
  ref(key: string): ActorRef;
  tell(key: string, msg: M): void;
  ask(key: string, msg: M, timeoutMs?: number): Promise<R>;
}

/**
 * Virtual actors addressed by kind + key: activated by their first message, passivated
 * when idle, restarted with backoff when they crash, escalated to their parent (or the
 * root) when restarting does not help. Exactly one message per actor is handled at a time.
 */
export class ActorSystem {
  readonly deadLetters: DeadLetters;
  /** Actors stopped by their supervisor after exceeding their restart intensity. */
  readonly escalations: Observable<Escalation>;
  private readonly escalationTopic: Topic<Escalation>;
  private readonly kinds = new Map<string, KindEntry>();
  private readonly asks: AskTimeouts;
  private readonly host: CellHost;
  private readonly log: Logger;
  private readonly now: () => number;
  private accepting = true;
  private shuttingDown: Promise<ShutdownReport> | undefined;

  constructor(options: ActorSystemOptions = {}) {
    this.log = options.logger ?? silentLogger();
    this.now = options.now ?? Date.now;
    const listenerError = (err: unknown) => this.log.error({ err }, 'actor system listener threw');
    this.deadLetters = new DeadLetters(this.now, listenerError, options.deadLetterBuffer);
    this.escalationTopic = new Topic(listenerError);
    this.escalations = { subscribe: (l) => this.escalationTopic.subscribe(l) };
    this.asks = new AskTimeouts((ask, value) => this.deadLetters.publish(ask.target, value, 'ask-timeout'));
    this.host = this.createHost(options.random ?? Math.random);
    if (options.registry) registerActorMetrics(options.registry, this.metricsSource());
  }

  /** Registers a kind. The factory is called with the key on every (re)activation. */
  register<M, R = unknown>(kind: string, factory: BehaviorFactory<M, R>, options?: ActorKindOptions): ActorKind<M, R> {
    if (this.kinds.has(kind)) throw new SwitchyardError(ErrorCode.CONFIG_INVALID, `actor kind "${kind}" is already registered`);
    if (kind === '' || kind.includes(':')) throw new SwitchyardError(ErrorCode.CONFIG_INVALID, `actor kind "${kind}" must be non-empty and contain no ':'`);
    this.kinds.set(kind, { name: kind, factory, options: resolveKindOptions(kind, options), cells: new Map(), stats: new KindStats() });
    return {
      name: kind,
      ref: (key) => refOf(kind, key),
      tell: (key, msg) => this.tell(kind, key, msg),
      ask: (key, msg, timeoutMs) => this.ask<R>(kind, key, msg, timeoutMs),
    };
  }

  /**
   * Fire-and-forget; activates the actor if needed. Throws `MailboxFullError` (policy
   * 'reject'), `ActorStoppedError` (shutting down) or UNKNOWN_ACTOR_KIND synchronously.
   */
  tell(kind: string, key: string, msg: unknown): void {
    if (!this.accepting) throw new ActorStoppedError(`${kind}:${key}`, 'shutting-down');
    this.cellFor(this.entry(kind), key).enqueue(msg);
  }

  /**
   * Request/reply: resolves with what `receive` returned. Rejects with `AskTimeoutError`
   * after `timeoutMs` (the late reply then goes to dead letters as 'ask-timeout'), with the
   * handler's error if it threw, or with the errors `tell` would throw.
   */
  ask<R = unknown>(kind: string, key: string, msg: unknown, timeoutMs?: number): Promise<R> {
    if (!this.accepting) return Promise.reject(new ActorStoppedError(`${kind}:${key}`, 'shutting-down'));
    return this.askCell(kind, key, msg, timeoutMs) as Promise<R>;
  }

  /** Stops the actor after its current turn; queued messages go to dead letters ('stopped'). */
  stop(kind: string, key: string): Promise<void> {
    const cell = this.kinds.get(kind)?.cells.get(key);
    return cell ? cell.stop('stopped', 'stopped') : Promise.resolve();
  }

  /** Is `kind:key` active (activated and not stopping)? */
  has(kind: string, key: string): boolean {
    const cell = this.kinds.get(kind)?.cells.get(key);
    return cell !== undefined && !cell.isStopping;
  }

  activeCount(): number {
    let n = 0;
    for (const entry of this.kinds.values()) n += entry.stats.active;
    return n;
  }

  ref(kind: string, key: string): ActorRef {
    this.entry(kind);
    return refOf(kind, key);
  }

  stats(): ActorSystemStats {
    const kinds: Record<string, KindSnapshot> = {};
    let active = 0;
    let mailboxDepth = 0;
    for (const { kind, stats, mailboxDepth: depth } of this.metricsSource().kinds()) {
      const { activations, passivations, restarts, escalations, turns, turnSecondsSum } = stats;
      kinds[kind] = { active: stats.active, mailboxDepth: depth, activations, passivations, restarts, escalations, turns, turnSecondsSum };
      active += stats.active;
      mailboxDepth += depth;
    }
    return { active, mailboxDepth, kinds, deadLetters: { total: this.deadLetters.count, byReason: this.deadLetters.countsByReason() } };
  }

  /**
   * Refuses new messages from outside (ActorStoppedError 'shutting-down'), lets every
   * mailbox drain until `deadlineMs`, then stops every actor (onStop 'shutdown') and
   * dead-letters what is left ('shutting-down'). Actors may still tell already-active
   * actors while draining, so in-flight work can finish. Idempotent.
   */
  shutdown(deadlineMs = 10_000): Promise<ShutdownReport> {
    this.accepting = false;
    this.shuttingDown ??= this.drainAndStop(deadlineMs);
    return this.shuttingDown;
  }

  private async drainAndStop(deadlineMs: number): Promise<ShutdownReport> {
    const lettersBefore = this.deadLetters.count;
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    const drained = await Promise.race([Promise.all(this.allCells().map((c) => c.whenDrained())).then(() => true), budget.then(() => false)]);
    if (!drained) this.log.warn({ deadlineMs }, 'actor mailboxes not drained before the shutdown deadline');
    const cells = this.allCells();
    await Promise.all(cells.map((c) => c.stop('shutdown', 'shutting-down', budget)));
    clearTimeout(timer);
    return { drained, stopped: cells.length, deadLettered: this.deadLetters.count - lettersBefore };
  }

  // ---- internals ---------------------------------------------------------

  private entry(kind: string): KindEntry {
    const entry = this.kinds.get(kind);
    if (entry === undefined) throw new SwitchyardError(ErrorCode.UNKNOWN_ACTOR_KIND, `no actor kind "${kind}" is registered`);
    return entry;
  }

  private cellFor(entry: KindEntry, key: string): ActorCell {
    let cell = entry.cells.get(key);
    if (cell === undefined) {
      cell = new ActorCell(refOf(entry.name, key), entry, this.host);
      entry.cells.set(key, cell);
    }
    return cell;
  }

  private askCell(kind: string, key: string, msg: unknown, timeoutMs: number | undefined): Promise<unknown> {
    try {
      const entry = this.entry(kind);
      const timeout = timeoutMs ?? entry.options.askTimeoutMs;
      if (!(timeout > 0 && Number.isFinite(timeout))) throw new SwitchyardError(ErrorCode.BAD_REQUEST, `ask timeoutMs = ${timeout} must be a finite number > 0`);
      const cell = this.cellFor(entry, key);
      const ask = this.asks.create(msg, cell.ref.id, timeout);
      try {
        cell.enqueue(ask);
      } catch (err) {
        ask.fail(err);
      }
      return ask.promise;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** While shutting down, actors may only reach actors that are still active (to finish work). */
  private internalCell(target: ActorAddress): ActorCell {
    const entry = this.entry(target.kind);
    if (this.accepting) return this.cellFor(entry, target.key);
    const cell = entry.cells.get(target.key);
    if (cell === undefined || cell.isStopping) throw new ActorStoppedError(`${target.kind}:${target.key}`, 'shutting-down');
    return cell;
  }

  private allCells(): ActorCell[] {
    const out: ActorCell[] = [];
    for (const entry of this.kinds.values()) for (const cell of entry.cells.values()) out.push(cell);
    return out;
  }

  private createHost(random: () => number): CellHost {
    return {
      log: this.log,
      now: this.now,
      random,
      deadLetters: this.deadLetters,
      tellFrom: (_sender, target, msg) => this.internalCell(target).enqueue(msg),
      askFrom: (_sender, target, msg, timeoutMs) => {
        try {
          const cell = this.internalCell(target);
          return this.askCell(cell.ref.kind, cell.ref.key, msg, timeoutMs);
        } catch (err) {
          return Promise.reject(err);
        }
      },
      spawnChild: (parentRef, kind, key) => {
        const parent = this.kinds.get(parentRef.kind)?.cells.get(parentRef.key);
        const child = this.internalCell({ kind, key });
        if (parent !== undefined && child.parent === undefined && !isAncestor(child, parent)) {
          child.parent = parent;
          parent.children.add(child);
        }
        return child.ref;
      },
      deliverScheduled: (self, msg) => {
        const cell = this.kinds.get(self.kind)?.cells.get(self.key);
        if (cell === undefined) return this.deadLetters.publish(self.id, msg, 'stopped');
        try {
          cell.enqueue(msg);
        } catch (err) {
          this.log.warn({ err, actor: self.id }, 'scheduled message not delivered');
        }
      },
      escalate: (cell, error, restarts) => {
        const supervisor = cell.parent?.ref.id ?? 'root';
        cell.kind.stats.escalations++;
        this.log.error({ err: error, actor: cell.ref.id, supervisor, restarts }, 'actor exceeded its restart intensity; stopped by its supervisor');
        // Reported once the child is fully stopped, so listeners see its mailbox already dead-lettered.
        void cell.stop('escalated', 'escalated').then(() => {
          this.escalationTopic.emit({ ref: cell.ref.id, supervisor, error, restarts, at: this.now() });
        });
      },
      removed: (cell) => {
        const cells = cell.kind.cells;
        if (cells.get(cell.ref.key) === cell) cells.delete(cell.ref.key);
      },
    };
  }

  private metricsSource(): MetricsSource {
    const kinds = this.kinds;
    return {
      *kinds() {
        for (const entry of kinds.values()) {
          // Summed on read: of the collectors walking these kinds, only the depth gauge needs every cell.
          yield {
            kind: entry.name,
            stats: entry.stats,
            get mailboxDepth() {
              let depth = 0;
              for (const cell of entry.cells.values()) depth += cell.mailbox.depth;
              return depth;
            },
          };
        }
      },
      deadLetterCounts: () => this.deadLetters.countsByReason(),
    };
  }
}

function refOf(kind: string, key: string): ActorRef {
  return Object.freeze({ kind, key, id: `${kind}:${key}` });
}

/** Linking a child to one of its own ancestors would make their stops wait on each other. */
function isAncestor(candidate: ActorCell, of: ActorCell): boolean {
  for (let c: ActorCell | undefined = of; c !== undefined; c = c.parent) if (c === candidate) return true;
  return false;
}
