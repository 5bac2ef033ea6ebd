import type { WebHost } from './http/ports.js';

/**
 * The one shape of a feature module (presence, docs, tasks, ingest, dashboard) as the
 * composition root sees it: `runtime.ts` builds each from its dependencies, attaches
 * every one to the web host, starts them in order, and on shutdown stops and then
 * closes them in reverse. A feature depends on ports (coordination, storage, the web
 * host), never on another feature's internals or on the gateway.
 */
export interface Feature {
  readonly name: string;
  /** Adds routes, sockets and events to the web host; called before it listens (not at all without one). */
  attach?(web: WebHost): void;
  /** Starts timers, subscriptions and consumers; called in list order, before the web host listens. */
  start?(): Promise<void> | void;
  /** Shutdown, first pass (before the actors drain), in reverse order: stop taking work, close own sockets. */
  stop?(): Promise<void> | void;
  /** Shutdown, second pass (after the actors drained), in reverse order: release what it holds. */
  close?(): Promise<void> | void;
}
