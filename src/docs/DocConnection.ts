import type { WebSocket } from 'uWebSockets.js';
import type { Principal } from '../auth/tokens.js';

/** What the document socket keeps per uWS socket. */
export interface DocSocketData {
  readonly docId: string;
  readonly principal: Principal;
  conn?: DocConnection;
}

let nextId = 1;

/** Frames a socket may send before its access check; a y-websocket client sends 2-3 (sync step 1, awareness). */
const HELD_MAX_FRAMES = 64;
const HELD_MAX_BYTES = 1024 * 1024;

/**
 * One client of one document, as the document actor sees it. Sends are corked
 * (they happen in actor turns and timers, outside uWS callbacks) and become no-ops
 * once the socket closed: a uWS socket must not be touched after its close event.
 */
export class DocConnection {
  readonly id = nextId++;
  /** Awareness client ids this connection announced; removed for everyone when it closes. */
  readonly awarenessIds = new Set<number>();
  /** Set when the actor admitted it (access checked, subscribed to the document topic). */
  admitted = false;
  canWrite = false;
  closed = false;
  /** Frames received before admission: held here, never in the document's mailbox (null once admitted). */
  private held: Uint8Array[] | null = [];
  private heldBytes = 0;

  constructor(
    private readonly ws: WebSocket<DocSocketData>,
    readonly docId: string,
    readonly principal: Principal,
  ) {}

  /**
   * Keeps a frame that arrived before the access check. False when the socket is over
   * the bound: a user without access must not fill the mailbox others' edits go through.
   */
  hold(frame: Uint8Array): boolean {
    if (!this.held) return false;
    if (this.held.length >= HELD_MAX_FRAMES || this.heldBytes + frame.byteLength > HELD_MAX_BYTES) return false;
    this.held.push(frame);
    this.heldBytes += frame.byteLength;
    return true;
  }

  /** The held frames, in arrival order; from now on frames go to the mailbox. */
  takeHeld(): Uint8Array[] {
    const frames = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    return frames;
  }

  send(message: Uint8Array): void {
    if (this.closed) return;
    this.ws.cork(() => this.ws.send(message, true));
  }

  subscribe(topic: string): void {
    if (!this.closed) this.ws.subscribe(topic);
  }

  /**
   * Sends to every socket on `topic` (this one included) with ONE encode: uWS
   * publishes to the others, then this socket gets the same bytes.
   */
  publishAll(topic: string, message: Uint8Array): void {
    if (this.closed) return;
    this.ws.cork(() => {
      this.ws.publish(topic, message, true);
      this.ws.send(message, true);
    });
  }

  /** Sends to every other socket on `topic` (uWS skips the publishing socket): a client's own update is not echoed. */
  publishOthers(topic: string, message: Uint8Array): void {
    if (this.closed) return;
    this.ws.cork(() => this.ws.publish(topic, message, true));
  }

  close(close: { readonly code: number; readonly reason: string }): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.cork(() => this.ws.end(close.code, close.reason));
  }
}

/** The bus topic carrying a document's awareness between instances. */
export const awarenessTopic = (docId: string): string => `doc-awareness:${docId}`;

/** The uWS topic of a document's sockets. */
export function docTopic(docId: string): string {
  return `doc/${docId}`;
}
