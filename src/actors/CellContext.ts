import { ActorStoppedError, ErrorCode, SwitchyardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { ActorAddress, ActorContext, ActorRef } from './types.js';

/**
 * An actor asked itself. Its reply could only come from a later turn of the same actor,
 * which cannot start until the current turn ends: a guaranteed deadlock, so it fails fast.
 */
export class SelfAskError extends SwitchyardError {
  constructor(readonly actor: string) {
    super(ErrorCode.ACTOR_SELF_ASK, `actor ${actor} asked itself; use tell or handle the message inline (an ask to self can never be answered)`);
  }
}

/** What a context needs from the runtime; implemented by ActorSystem, hidden from behaviours. */
export interface ContextHost {
  readonly log: Logger;
  tellFrom(sender: ActorRef, target: ActorAddress, msg: unknown): void;
  askFrom(sender: ActorRef, target: ActorAddress, msg: unknown, timeoutMs: number | undefined): Promise<unknown>;
  spawnChild(parent: ActorRef, kind: string, key: string): ActorRef;
  /** Delivers a scheduled message to `self`; failures are dead-lettered and logged, not thrown. */
  deliverScheduled(self: ActorRef, msg: unknown): void;
}

/** The context of one incarnation. Closed when the incarnation stops. */
export class CellContext<M = unknown> implements ActorContext<M> {
  private controller: AbortController | undefined;
  private timers: Set<NodeJS.Timeout> | undefined;
  private logger: Logger | undefined;
  private closedReason: string | undefined;

  private get closed(): boolean {
    return this.closedReason !== undefined;
  }

  constructor(
    readonly self: ActorRef,
    private readonly parentRef: () => ActorRef | undefined,
    private readonly host: ContextHost,
  ) {}

  get parent(): ActorRef | undefined {
    return this.parentRef();
  }

  // Created on first use: most turns never touch the signal or the logger.
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.closedReason !== undefined) this.controller.abort(new ActorStoppedError(this.self.id, this.closedReason));
    }
    return this.controller.signal;
  }

  get log(): Logger {
    return (this.logger ??= this.host.log.child({ actor: this.self.id }));
  }

  /** Scheduled messages not yet delivered; they keep the actor from passivating. */
  get pendingTimers(): number {
    return this.timers?.size ?? 0;
  }

  tell(target: ActorAddress, msg: unknown): void {
    this.host.tellFrom(this.self, target, msg);
  }

  ask<R = unknown>(target: ActorAddress, msg: unknown, timeoutMs?: number): Promise<R> {
    if (target.kind === this.self.kind && target.key === this.self.key) return Promise.reject(new SelfAskError(this.self.id));
    return this.host.askFrom(this.self, target, msg, timeoutMs) as Promise<R>;
  }

  schedule(delayMs: number, msg: M): () => void {
    if (this.closed) return () => {};
    const timers = (this.timers ??= new Set());
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!this.closed) this.host.deliverScheduled(this.self, msg);
    }, delayMs);
    timers.add(timer);
    return () => {
      clearTimeout(timer);
      timers.delete(timer);
    };
  }

  spawnChild(kind: string, key: string): ActorRef {
    return this.host.spawnChild(this.self, kind, key);
  }

  /** Aborts the signal and cancels scheduled messages: nothing outlives its incarnation. */
  close(reason: string): void {
    if (this.closed) return;
    this.closedReason = reason;
    this.controller?.abort(new ActorStoppedError(this.self.id, reason));
    if (this.timers) for (const t of this.timers) clearTimeout(t);
    this.timers?.clear();
  }
}
