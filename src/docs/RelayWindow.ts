import type { DocConnection } from './DocConnection.js';

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
 */
export class RelayWindow {
  private messages: Uint8Array[] = [];
  private senders: (DocConnection | null)[] = [];
  private open = false;

  constructor(
    private readonly clock: RelayClock,
    private readonly publish: Publish,
  ) {}

  send(message: Uint8Array, from: DocConnection | null): void {
    if (this.open) {
      this.messages.push(message);
      this.senders.push(from);
      return;
    }
    this.publish(message, from);
    this.open = this.clock.join(this);
  }

  /** Publishes what is held now (the document unloads). */
  flush(): void {
    const { messages, senders } = this;
    if (messages.length === 0) return;
    this.messages = [];
    this.senders = [];
    for (let i = 0; i < messages.length; i++) this.publish(messages[i]!, senders[i]!);
  }

  /** Nothing held is sent (the document was deleted). */
  discard(): void {
    this.messages = [];
    this.senders = [];
  }

  /** The window ends: false when it held nothing (the document is quiet again and leaves the clock). */
  tick(): boolean {
    if (this.messages.length === 0) {
      this.open = false;
      return false;
    }
    this.flush();
    return true;
  }
}

/**
 * The one timer behind every document's relay window (docs.relayWindowMs): a timer per
 * busy document, re-armed every few milliseconds, was 5 % of a memory-mode server's CPU.
 * It runs only while some window is open. A period of 0 keeps no window open.
 */
export class RelayClock {
  private readonly open = new Set<RelayWindow>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly periodMs: number) {}

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
