import { ActorStoppedError, MailboxFullError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { Ask } from './Ask.js';
import { CellContext, type ContextHost } from './CellContext.js';
import type { DeadLetters } from './DeadLetters.js';
import { Mailbox, isThenable, type TurnHandler } from './Mailbox.js';
import type { KindStats } from './ActorMetrics.js';
import type { ResolvedKindOptions } from './options.js';
import { RestartIntensity } from './Supervision.js';
import type { ActorRef, Behavior, BehaviorFactory, DeadLetterReason, StopReason } from './types.js';

/** A registered kind: its factory, frozen options, live cells and counters. */
export interface KindEntry {
  readonly name: string;
  readonly factory: BehaviorFactory<any, any>;
  readonly options: ResolvedKindOptions;
  readonly cells: Map<string, ActorCell>;
  readonly stats: KindStats;
}

/** What a cell needs from its system besides the context services. */
export interface CellHost extends ContextHost {
  readonly now: () => number;
  readonly random: () => number;
  readonly deadLetters: DeadLetters;
  /** Too many restarts: the parent (or the root) must stop the cell and report it. */
  escalate(cell: ActorCell, error: unknown, restarts: number): void;
  /** The cell is gone (stopped, or passivated with nothing queued). */
  removed(cell: ActorCell): void;
}

type CellState = 'starting' | 'running' | 'restarting' | 'passivating' | 'stopping' | 'stopped';

/** Bounds a wait by the shutdown deadline; without a budget it waits as long as it takes. */
function within(p: Promise<unknown>, budget: Promise<void> | undefined): Promise<unknown> {
  return budget === undefined ? p : Promise.race([p, budget]);
}

/**
 * One virtual actor: its mailbox, the current incarnation (behaviour + context), and the
 * lifecycle around it — activation, turns, restart with backoff, passivation, stop.
 */
export class ActorCell implements TurnHandler<unknown> {
  readonly mailbox: Mailbox<unknown>;
  parent: ActorCell | undefined;
  readonly children = new Set<ActorCell>();
  private state: CellState = 'starting';
  private behavior: Behavior<unknown, unknown> | undefined;
  private ctx: CellContext | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly intensity: RestartIntensity;
  private idleTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Bursts drained so far; the idle check only compares it, so no clock read per burst. */
  private bursts = 0;
  private burstsAtLastCheck = -1;
  private drainWaiters: (() => void)[] = [];
  private logger: Logger | undefined;

  constructor(
    readonly ref: ActorRef,
    readonly kind: KindEntry,
    private readonly host: CellHost,
  ) {
    const o = kind.options;
    this.intensity = new RestartIntensity(o.restart, host.now, host.random);
    this.mailbox = new Mailbox<unknown>(ref.id, o.mailboxCapacity, o.overflow, this, {
      dropped: (item) => this.deadLetter(item, 'dropped-oldest', 'dropped-oldest'),
      idle: () => this.onIdle(),
      error: (err) => this.log.error({ err }, 'mailbox handler threw'),
    }, { suspended: true }); // until onStart has finished
    kind.stats.active++;
    kind.stats.activations++;
    this.incarnate();
  }

  private get log(): Logger {
    return (this.logger ??= this.host.log.child({ actor: this.ref.id }));
  }

  get isStopping(): boolean {
    return this.state === 'stopping' || this.state === 'stopped';
  }

  /** Queues a message (or an Ask). Throws MailboxFullError under 'reject' when full. */
  enqueue(item: unknown): void {
    if (this.isStopping) {
      this.deadLetter(item, 'stopped', 'stopped');
      return;
    }
    try {
      this.mailbox.push(item);
    } catch (err) {
      const message = item instanceof Ask ? item.message : item;
      this.host.deadLetters.publish(this.ref.id, message, 'mailbox-full');
      throw err;
    }
  }

  /** Resolves once nothing is queued or in flight (or the cell is gone); for shutdown. */
  whenDrained(): Promise<void> {
    if (this.state === 'stopped' || (this.state === 'running' && this.mailbox.isIdle)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  // ---- incarnation -------------------------------------------------------

  private incarnate(): void {
    this.state = 'starting';
    this.starting = this.start();
  }

  private async start(): Promise<void> {
    try {
      this.behavior = this.kind.factory(this.ref.key);
      this.ctx = new CellContext(this.ref, () => this.parent?.ref, this.host);
      const started = this.behavior.onStart?.(this.ctx);
      if (isThenable(started)) await started;
    } catch (err) {
      this.crash(err, undefined);
      return;
    }
    if (this.state !== 'starting') return; // stopped while starting
    this.state = 'running';
    this.mailbox.resume();
    if (this.mailbox.isIdle) this.onIdle();
  }

  /** Ends the current incarnation: abort its signal, cancel its timers, then onStop. */
  private async endIncarnation(reason: StopReason): Promise<void> {
    const behavior = this.behavior;
    const ctx = this.ctx;
    this.behavior = undefined;
    this.ctx = undefined;
    if (ctx === undefined) return;
    ctx.close(reason);
    try {
      const stopped = behavior?.onStop?.(ctx, reason);
      if (isThenable(stopped)) await stopped;
    } catch (err) {
      this.log.error({ err, reason }, 'onStop threw');
    }
  }

  // ---- turns -------------------------------------------------------------

  // TurnHandler: called by the mailbox loop, one item at a time.

  begin(item: unknown): unknown {
    return this.behavior!.receive(item instanceof Ask ? item.message : item, this.ctx!);
  }

  end(item: unknown, value: unknown, ms: number): void {
    this.kind.stats.countTurn(ms);
    if (item instanceof Ask) item.reply(value);
  }

  fail(item: unknown, err: unknown, ms: number): void {
    this.kind.stats.countTurn(ms);
    this.crash(err, item instanceof Ask ? item : undefined);
  }

  // ---- supervision -------------------------------------------------------

  private crash(err: unknown, ask: Ask | undefined): void {
    ask?.fail(err);
    if (this.state !== 'running' && this.state !== 'starting') {
      this.log.error({ err, state: this.state }, 'actor failed while stopping');
      return;
    }
    this.mailbox.suspend(); // queued messages wait for the next incarnation
    this.clearIdleTimer();
    const verdict = this.intensity.onCrash();
    if (verdict.action === 'escalate') {
      this.host.escalate(this, err, verdict.restarts);
      return;
    }
    this.state = 'restarting';
    this.kind.stats.restarts++;
    this.log.warn({ err, attempt: verdict.attempt, delayMs: verdict.delayMs }, 'actor crashed; restarting after backoff');
    void this.endIncarnation('restart').then(() => {
      if (this.state !== 'restarting') return;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (this.state === 'restarting') this.incarnate();
      }, verdict.delayMs);
    });
  }

  // ---- passivation -------------------------------------------------------

  private onIdle(): void {
    const waiters = this.drainWaiters;
    if (waiters.length > 0) {
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
    if (this.state !== 'running') return;
    this.bursts++;
    // Armed once, then re-armed by checkIdle while there is traffic: the hot path never touches timers.
    if (this.kind.options.idleTimeoutMs > 0 && this.idleTimer === undefined) {
      this.burstsAtLastCheck = this.bursts;
      this.armIdle(this.kind.options.idleTimeoutMs);
    }
  }

  private armIdle(delayMs: number): void {
    this.idleTimer = setTimeout(() => this.checkIdle(), delayMs);
    this.idleTimer.unref(); // an idle actor must not keep the process alive
  }

  private clearIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private checkIdle(): void {
    this.idleTimer = undefined;
    if (this.state !== 'running' || !this.mailbox.isIdle) return; // busy: onIdle re-arms at the end of the burst
    const idleMs = this.kind.options.idleTimeoutMs;
    // Pending scheduled messages and live children are work in progress, not idleness.
    if ((this.ctx?.pendingTimers ?? 0) > 0 || this.children.size > 0) return this.armIdle(idleMs);
    // Traffic since the last check: look again one full period later. So passivation comes
    // between idleTimeoutMs and 2 x idleTimeoutMs after the last message.
    if (this.bursts !== this.burstsAtLastCheck) {
      this.burstsAtLastCheck = this.bursts;
      return this.armIdle(idleMs);
    }
    void this.passivate();
  }

  private async passivate(): Promise<void> {
    this.state = 'passivating';
    this.mailbox.suspend();
    this.kind.stats.passivations++;
    await this.endIncarnation('passivated');
    if (this.state !== 'passivating') return; // stopped meanwhile
    if (this.mailbox.depth > 0) {
      // Messages arrived during onStop: reactivate in place, so one key never has two incarnations.
      this.kind.stats.activations++;
      this.incarnate();
      return;
    }
    this.finish();
  }

  // ---- stop --------------------------------------------------------------

  /**
   * Stops after the in-flight turn (turns are never interrupted), dead-letters the queue,
   * stops children, then runs onStop. Idempotent. `budget` resolves when a shutdown
   * deadline passes, after which nothing more is awaited.
   */
  stop(reason: StopReason, letterReason: DeadLetterReason, budget?: Promise<void>): Promise<void> {
    this.stopping ??= this.stopNow(reason, letterReason, budget);
    return this.stopping;
  }

  private async stopNow(reason: StopReason, letterReason: DeadLetterReason, budget: Promise<void> | undefined): Promise<void> {
    const previous = this.state;
    this.state = 'stopping';
    this.mailbox.suspend();
    this.clearIdleTimer();
    clearTimeout(this.restartTimer);
    await within(this.mailbox.drained, budget);
    if (previous === 'starting' && this.starting) await within(this.starting, budget);
    for (const item of this.mailbox.takeAll()) this.deadLetter(item, letterReason, reason);
    await Promise.all([...this.children].map((c) => c.stop('parent-stopped', 'parent-stopped', budget)));
    await within(this.endIncarnation(reason), budget);
    this.finish();
  }

  private finish(): void {
    this.state = 'stopped';
    this.clearIdleTimer();
    for (const item of this.mailbox.takeAll()) this.deadLetter(item, 'stopped', 'stopped');
    this.parent?.children.delete(this);
    this.kind.stats.active--;
    this.host.removed(this);
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private deadLetter(item: unknown, letterReason: DeadLetterReason, stopReason: string): void {
    if (item instanceof Ask) {
      const dropped = letterReason === 'dropped-oldest';
      item.fail(dropped ? new MailboxFullError(this.ref.id, this.mailbox.capacity) : new ActorStoppedError(this.ref.id, stopReason));
      this.host.deadLetters.publish(this.ref.id, item.message, letterReason);
    } else {
      this.host.deadLetters.publish(this.ref.id, item, letterReason);
    }
  }
}
