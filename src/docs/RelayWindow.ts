import type { DocConnection } from './DocConnection.js';

/** Publishes one message to the document's sockets, from `from`'s socket when it is still open (uWS skips it then). */
export type Publish = (message: Uint8Array, from: DocConnection | null) => void;

/**
 * A leading-edge throttle on a document's relayed updates: a message into a quiet
 * document goes out at once and opens a window of `windowMs`; what comes during the
 * window is published together when it ends (in arrival order), and opens the next one.
 *
 * Why: on loopback, the kernel's send path (sendto → tcp_write_xmit) was 27-40 % of a
 * memory-mode server's CPU under bench:docs, one syscall per socket per event-loop turn,
 * whatever the number of messages in it. uWS writes every message a socket received in
 * one turn with one syscall, so publishing a busy document's updates together turns N
 * writes per socket into one, at a cost of at most `windowMs` of latency for the later
 * ones. 0 publishes every message at once.
 */
export class RelayWindow {
  private messages: Uint8Array[] = [];
  private senders: (DocConnection | null)[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly windowMs: number,
    private readonly publish: Publish,
  ) {}

  send(message: Uint8Array, from: DocConnection | null): void {
    if (this.timer) {
      this.messages.push(message);
      this.senders.push(from);
      return;
    }
    this.publish(message, from);
    if (this.windowMs > 0) this.timer = setTimeout(this.windowEnds, this.windowMs);
  }

  /** Publishes what is held now (the document unloads). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const { messages, senders } = this;
    if (messages.length === 0) return;
    this.messages = [];
    this.senders = [];
    for (let i = 0; i < messages.length; i++) this.publish(messages[i]!, senders[i]!);
  }

  /** Nothing held is sent (the document was deleted). */
  discard(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.messages = [];
    this.senders = [];
  }

  private readonly windowEnds = (): void => {
    this.timer = null;
    if (this.messages.length === 0) return; // quiet: the next message goes out at once
    this.flush();
    this.timer = setTimeout(this.windowEnds, this.windowMs);
  };
}
