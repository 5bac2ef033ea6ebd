import type { DocConnection } from './DocConnection.js';
import { joinUpdates } from './joinUpdates.js';
import { encodeUpdate } from './protocol.js';

/** Publishes one message to the document's sockets, from `from`'s socket when it is still open (uWS skips it then). */
export type Publish = (message: Uint8Array, from: DocConnection | null) => void;

/**
 * A leading-edge throttle on a document's relayed updates: a message into a quiet
 * document goes out at once and opens a window; what comes during the window is
 * published together when it ends (in arrival order), and opens the next one.
 *
 * Why: on loopback, the kernel's send path (sendto → tcp_write_xmit) was 27-40 % of a
 * memory-mode server's CPU under bench:docs, one syscall per socket per event-loop turn,
 * whatever the number of messages in it. uWS writes every message a socket received in
 * one turn with one syscall, so publishing a busy document's updates together turns N
 * writes per socket into one, at a cost of at most one window of latency for the later
 * ones. Windows end on the shared RelayClock's tick (so a window lasts up to its period).
 *
 * A window that ended holding messages is followed by a longer one (docs.relayBusyWindowMs,
 * a whole number of ticks): a document that keeps receiving edits has them sent together
 * every 50 ms (20 Hz), one write per socket for several updates, while a quiet document's
 * first update still goes out at once. Under bench:docs 16 ms windows cut the server's CPU
 * per delivered update by 7-8 % against 5 ms ones; with joined updates (below) 35 ms ones
 * gave 102-120k delivered updates per server CPU-second against 91-95k for 16 ms, 50 ms ones
 * 122-171k, at p50 35 ms (25 at 35 ms, 15-17 at 16 ms) and p99 69-86 ms (64-103, 77-82);
 * y-websocket's server, same runs: 37-52k, p99 140-371 ms. docs.relayBusyWindowMs trades
 * that latency for CPU.
 *
 * What a window held goes out joined: the updates of different clients become one update
 * (joinUpdates: a byte copy, no Yjs), one message to every socket (its author too, for whom
 * applying it again changes nothing), so a client applies one update per window instead of
 * one per edit. Under bench:docs a stock provider spent ~70 µs of CPU per update received,
 * most of it per Yjs transaction; joined, the (CPU-starved) load processes sent 3,285-3,471
 * of the 4,000 edits/s offered instead of 2,732-2,844, with p50 15-19 ms instead of 28-32 and
 * p99 76-88 ms instead of 110-123, at the same server CPU per edit. A run of one update is
 * forwarded as it came.
 */
export class RelayWindow {
  private updates: Uint8Array[] = [];
  private messages: Uint8Array[] = [];
  private senders: (DocConnection | null)[] = [];
  private open = false;
  /** Ticks until the open window ends. */
  private ticksLeft = 0;

  constructor(
    private readonly clock: RelayClock,
    private readonly publish: Publish,
  ) {}

  /** `message` is `update`'s frame (the client's own, or encoded once). */
  send(update: Uint8Array, message: Uint8Array, from: DocConnection | null): void {
    if (this.open) {
      this.updates.push(update);
      this.messages.push(message);
      this.senders.push(from);
      return;
    }
    this.publish(message, from);
    this.open = this.clock.join(this);
    this.ticksLeft = 1;
  }

  /** Publishes what is held now (the document unloads). */
  flush(): void {
    const { updates, messages, senders } = this;
    if (messages.length === 0) return;
    this.discard();
    if (messages.length === 1) return this.publish(messages[0]!, senders[0]!);
    for (const run of joinUpdates(updates)) {
      if (run.update) this.publish(encodeUpdate(run.update), null);
      else this.publish(messages[run.start]!, senders[run.start]!);
    }
  }

  /** Nothing held is sent (the document was deleted). */
  discard(): void {
    this.updates = [];
    this.messages = [];
    this.senders = [];
  }

  /** A tick of the clock: true while the window stays open; false when it ended holding nothing (the document is quiet again and leaves the clock). */
  tick(): boolean {
    if (--this.ticksLeft > 0) return true;
    if (this.messages.length === 0) {
      this.open = false;
      return false;
    }
    this.flush();
    this.ticksLeft = this.clock.busyTicks; // still busy: the next window is a long one
    return true;
  }
}

/**
 * The one timer behind every document's relay window (docs.relayWindowMs): a timer per
 * busy document, re-armed every few milliseconds, was 5 % of a memory-mode server's CPU.
 * It runs only while some window is open. A period of 0 keeps no window open. A busy
 * window lasts `busyWindowMs` rounded to whole periods.
 */
export class RelayClock {
  private readonly open = new Set<RelayWindow>();
  private timer: NodeJS.Timeout | null = null;
  /** Ticks a window lasts after one that held messages (at least 1). */
  readonly busyTicks: number;

  constructor(
    private readonly periodMs: number,
    busyWindowMs = periodMs,
  ) {
    this.busyTicks = periodMs === 0 ? 1 : Math.max(1, Math.round(busyWindowMs / periodMs));
  }

  /** True when the window is open until the next tick. */
  join(window: RelayWindow): boolean {
    if (this.periodMs === 0) return false;
    this.open.add(window);
    this.timer ??= setInterval(this.tick, this.periodMs).unref();
    return true;
  }

  private readonly tick = (): void => {
    for (const window of this.open) if (!window.tick()) this.open.delete(window);
    if (this.open.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  };
}
