import type { WebSocket } from 'uWebSockets.js';
import type { Principal } from '../auth/tokens.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { CloseCode } from './CloseCodes.js';
import { CloseCodes } from './CloseCodes.js';
import { jsonOf, type Dialect } from './Dialect.js';
import type { GatewayMetrics } from './GatewayMetrics.js';
import type { AckId, ErrorBody } from './protocol.js';
import { TokenBucket } from './TokenBucket.js';

/** What the upgrade hands to uWS; `conn` is set in `open`. */
export interface SocketData {
  readonly sid: string;
  readonly principal: Principal;
  readonly ip: string;
  conn?: Connection;
}

/** Who a connection is, whichever dialect's socket carries it. */
export interface ConnectionIdentity {
  readonly sid: string;
  readonly principal: Principal;
  readonly ip: string;
}

export interface ConnectionLimits {
  readonly maxBackpressureBytes: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly maxRateViolations: number;
}

/** What the rate check decided for one incoming frame. */
export const RateVerdict = { OK: 0, LIMITED: 1, CLOSE: 2 } as const;
export type RateVerdict = (typeof RateVerdict)[keyof typeof RateVerdict];

/**
 * One open event socket of either dialect (`/ws` JSON or Socket.IO): the dispatcher,
 * the rooms and the pools see only this class, and the dialect frames its output. Guards every use of the uWS handle (it must not be touched
 * after `close`), corks sends (they often come from promise continuations or bus
 * callbacks, outside any uWS callback), and serialises message handling so a
 * `join` is done before the next frame (e.g. `events:channel` to that room) runs.
 */
export class Connection {
  readonly sid: string;
  readonly ip: string;
  readonly connectedAt: number;
  principal: Principal;
  /** Rooms this socket is in (uWS topics), maintained by RoomHub. */
  readonly rooms = new Set<string>();
  private closed = false;
  private readonly bucket: TokenBucket;
  private violations = 0;
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** Note documents this socket joined over Socket.IO (`ydoc:document:join`), left on close. */
  readonly notes = new Set<string>();

  constructor(
    private readonly ws: WebSocket<any>,
    data: ConnectionIdentity,
    readonly dialect: Dialect,
    private readonly limits: ConnectionLimits,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    now: number,
  ) {
    this.sid = data.sid;
    this.ip = data.ip;
    this.principal = data.principal;
    this.connectedAt = now;
    this.bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Called from the uWS `close` handler: from here on the handle is invalid. */
  markClosed(): void {
    this.closed = true;
  }

  /**
   * Spends a token for an incoming frame. Over-rate frames are answered with
   * RATE_LIMITED; `maxRateViolations` of them in a row close the socket.
   */
  checkRate(now: number): RateVerdict {
    if (this.bucket.take(now)) {
      this.violations = 0;
      return RateVerdict.OK;
    }
    this.violations += 1;
    return this.violations >= this.limits.maxRateViolations ? RateVerdict.CLOSE : RateVerdict.LIMITED;
  }

  /**
   * Runs `task` after every earlier task of this socket. The queue is bounded by the
   * burst size: a client cannot pile up unbounded work behind a slow handler.
   */
  enqueue(task: () => Promise<void>): void {
    // +1: the user-room join queued at open is not the client's frame.
    if (this.pending >= this.limits.messageBurst + 1) {
      throw new SwitchyardError(ErrorCode.RATE_LIMITED, `too many messages in flight (max ${this.limits.messageBurst})`);
    }
    this.pending += 1;
    this.tail = this.tail
      .then(task)
      .catch((err: unknown) => {
        // Tasks report their own errors to the client; one escaping here is a bug, but must not stall the queue.
        this.log.error({ sid: this.sid, err: errorMessage(err) }, 'socket task failed');
      })
      .finally(() => {
        this.pending -= 1;
      });
  }

  /** Resolves when every queued task has run (tests, shutdown). */
  drained(): Promise<void> {
    return this.tail;
  }

  /**
   * Sends one text frame. A socket whose queued output would pass
   * `maxBackpressureBytes` is closed with SLOW_CONSUMER — never silently skipped.
   */
  send(frame: string): boolean {
    if (this.closed) return false;
    if (this.ws.getBufferedAmount() + frame.length > this.limits.maxBackpressureBytes) {
      this.end(CloseCodes.SLOW_CONSUMER);
      return false;
    }
    let status = 0;
    this.ws.cork(() => {
      status = this.ws.send(frame, false);
    });
    if (status === 2) {
      this.end(CloseCodes.SLOW_CONSUMER);
      return false;
    }
    this.metrics.messagesOut.inc();
    return true;
  }

  sendEvent(event: string, data: unknown): boolean {
    return this.send(this.dialect.event(JSON.stringify(event), jsonOf(data)));
  }

  sendAck(ack: AckId, data: unknown): boolean {
    return this.send(this.dialect.ack(ack, data));
  }

  /** The one reply a frame gets when it failed: an ack error, or (no ack) an `error` event. */
  sendError(ack: AckId | undefined, error: ErrorBody): boolean {
    return this.send(ack === undefined ? this.dialect.error(error) : this.dialect.ackError(ack, error));
  }

  /** Joins the room's native topic of this socket's dialect. */
  subscribe(room: string): void {
    if (!this.closed) this.ws.subscribe(this.dialect.topic(room));
  }

  unsubscribe(room: string): void {
    if (!this.closed) this.ws.unsubscribe(this.dialect.topic(room));
  }

  /** Subscribes to a raw uWS topic (not a room), e.g. a note document's Socket.IO topic. */
  subscribeTopic(topic: string): void {
    if (!this.closed) this.ws.subscribe(topic);
  }

  unsubscribeTopic(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
  }

  /**
   * Publishes to local subscribers of `topic` except this socket (uWS never echoes
   * a publish to its publisher; one that is not subscribed reaches every subscriber).
   */
  publishExcludingSelf(topic: string, frame: string | Uint8Array, isBinary = false): void {
    if (this.closed) return;
    this.ws.cork(() => {
      this.ws.publish(topic, frame, isBinary);
    });
  }

  /** Sends a raw frame (e.g. a Socket.IO binary attachment), corked; false once closed. */
  sendRaw(frame: string | Uint8Array, isBinary: boolean): boolean {
    if (this.closed) return false;
    let status = 0;
    this.ws.cork(() => {
      status = this.ws.send(frame, isBinary);
    });
    if (status === 2) this.end(CloseCodes.SLOW_CONSUMER);
    return status !== 2;
  }

  end(close: CloseCode): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.cork(() => this.ws.end(close.code, close.reason));
  }
}
