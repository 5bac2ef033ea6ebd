import type { WebSocket } from 'uWebSockets.js';
import type { Principal } from '../auth/tokens.js';
import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { CloseCode } from './CloseCodes.js';
import { CloseCodes } from './CloseCodes.js';
import { jsonOf, type Dialect } from './Dialect.js';
import type { GatewayMetrics } from './GatewayMetrics.js';
import type { AckId, ErrorBody, IncomingEvent } from './protocol.js';
import { TokenBucket } from './TokenBucket.js';
import type { WheelItem } from './limits/ExpiryWheel.js';
import { isUserRoomOf, userRoom } from './RoomPolicy.js';

/**
 * What the upgrade hands to uWS, which copies it onto the socket object: `identity` until
 * `open` makes the Connection from it (then null), `conn` from then on. Two properties
 * fit the smallest property array uWS' socket object gets; four (sid, principal, ip, conn) did not.
 */
export interface SocketData {
  identity: ConnectionIdentity | null;
  conn: Connection | null;
}

/** Who a connection is, whichever dialect's socket carries it; `ip` is for the open log only. */
export interface ConnectionIdentity {
  readonly sid: string;
  readonly principal: Principal;
  readonly ip: string;
}

/** What runs a decoded frame (the EventDispatcher): synchronously, or returning the promise it awaits. */
export interface FrameDispatcher {
  dispatch(conn: Connection, msg: IncomingEvent): void | Promise<void>;
}

export interface ConnectionLimits {
  readonly maxBackpressureBytes: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly maxRateViolations: number;
}

/** Shared by every connection of one endpoint: one reference per socket instead of four. */
export interface ConnectionEnv {
  readonly dialect: Dialect;
  readonly limits: ConnectionLimits;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
}

/** How a socket is in a room: its own `user:<id>` room is delivered through the user's socket index, every other through a native topic. */
export const RoomVia = { NONE: 0, OWNER: 1, TOPIC: 2 } as const;
export type RoomVia = (typeof RoomVia)[keyof typeof RoomVia];

/** A socket's frame rate: its bucket and the over-rate frames in a row, made at the first frame. */
class FrameRate extends TokenBucket {
  violations = 0;
}

/** Bits of `Connection.flags`: three booleans in one field (8 B each, per idle socket). */
const CLOSED = 1;
/** Corked by us or by the uWS callback we run in: sends skip their own cork. */
const CORKED = 2;
/** A frame is being dispatched: publishes wait for its ack. */
const HOLDING = 4;

/** What the rate check decided for one incoming frame. */
export const RateVerdict = { OK: 0, LIMITED: 1, CLOSE: 2 } as const;
export type RateVerdict = (typeof RateVerdict)[keyof typeof RateVerdict];

/**
 * One open event socket of either dialect (`/ws` JSON or Socket.IO): the dispatcher,
 * the rooms and the pools see only this class, and the dialect frames its output.
 * Guards every use of the uWS handle (it must not be touched after `close`) and keeps
 * the frames of one socket in order: a `join` is done before the next frame (e.g.
 * `events:channel` to that room) runs.
 *
 * The fast path (issue 14): a frame arriving while nothing of this socket is queued is
 * dispatched at once, inside uWS' message callback and under one cork; only a frame
 * whose handler really awaits becomes the queue's tail, and frames behind it wait.
 * While a frame is dispatched its room publishes are held and written after the
 * frame's ack: uWS batches a publish per subscriber only when nothing else is written
 * to those sockets in the same cork, and ack-after-publish made the bare uWS baseline
 * 12× slower per CPU-second (bench/ws/bareUwsServer.ts).
 *
 * Idle sockets are the common case, so per-socket state is small and lazy: no queue
 * promise while idle, no token bucket before the first frame, no room or notes set until
 * a room beyond the socket's own user room or a note is joined, one shared reference for
 * limits/metrics/log, the expiry wheel's place kept here instead of in a map.
 */
export class Connection implements WheelItem {
  readonly sid: string;
  readonly connectedAt: number;
  principal: Principal;
  wheelSlot = -1;
  wheelIndex = 0;
  /**
   * The user whose `user:<id>` room this socket is in as one of that user's sockets (null:
   * none). Kept apart from `topicRooms` because it is not a uWS topic: RoomHub delivers it
   * through the user's sockets (a native topic per user cost ~0.5 KB per idle socket).
   */
  private ownRoomUser: string | null = null;
  /** Every other room, each a uWS topic; made at the first (most sockets are only in their user room). */
  private topicRooms: Set<string> | null = null;
  private flags = 0;
  /** Frames queued or running asynchronously; 0 = the fast path is open. */
  private pending = 0;
  private tail: Promise<void> | null = null;
  /** Publishes held during a dispatch, as (topic, frame, isBinary) triples. */
  private held: Array<string | Uint8Array | boolean> | null = null;
  private noteSet: Set<string> | null = null;
  /** Made at the first frame: a bucket made at open would be full by then anyway, and idle sockets never need one. */
  private rate: FrameRate | null = null;

  constructor(
    private readonly ws: WebSocket<any>,
    data: ConnectionIdentity,
    private readonly env: ConnectionEnv,
    now: number,
  ) {
    this.sid = data.sid;
    // A copy: the verified object is the key of TokenService's expiry WeakMap, whose entry
    // would live as long as the socket; the gateway reads the expiry once, at open.
    const { userId, name, role } = data.principal;
    this.principal = { userId, name, role };
    this.connectedAt = now;
  }

  get dialect(): Dialect {
    return this.env.dialect;
  }

  private get closed(): boolean {
    return (this.flags & CLOSED) !== 0;
  }

  private set closed(on: boolean) {
    this.flags = on ? this.flags | CLOSED : this.flags & ~CLOSED;
  }

  private get corked(): boolean {
    return (this.flags & CORKED) !== 0;
  }

  private set corked(on: boolean) {
    this.flags = on ? this.flags | CORKED : this.flags & ~CORKED;
  }

  private get holding(): boolean {
    return (this.flags & HOLDING) !== 0;
  }

  private set holding(on: boolean) {
    this.flags = on ? this.flags | HOLDING : this.flags & ~HOLDING;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Whether the socket is in `room` (RoomHub maintains it). */
  inRoom(room: string): boolean {
    return (this.ownRoomUser !== null && isUserRoomOf(room, this.ownRoomUser)) || (this.topicRooms?.has(room) ?? false);
  }

  /** Whether the socket is in `user:<userId>` as that user's socket (not through the room's topic). */
  ownsUserRoomOf(userId: string): boolean {
    return this.ownRoomUser === userId;
  }

  /** Whether the socket is subscribed to the room's native topic. */
  inTopic(room: string): boolean {
    return this.topicRooms?.has(room) ?? false;
  }

  get roomCount(): number {
    return (this.ownRoomUser === null ? 0 : 1) + (this.topicRooms?.size ?? 0);
  }

  /** The rooms the socket is in, as a new array (safe to leave rooms while walking it). */
  roomList(): string[] {
    const list = this.ownRoomUser === null ? [] : [userRoom(this.ownRoomUser)];
    if (this.topicRooms) list.push(...this.topicRooms);
    return list;
  }

  /** Records a room the socket is not in yet; how it is reached decides whether RoomHub subscribes its topic. */
  addRoom(room: string): RoomVia {
    if (this.ownRoomUser === null && isUserRoomOf(room, this.principal.userId)) {
      this.ownRoomUser = this.principal.userId;
      return RoomVia.OWNER;
    }
    (this.topicRooms ??= new Set()).add(room);
    return RoomVia.TOPIC;
  }

  /** Forgets a room; how the socket was in it (NONE: it was not). */
  removeRoom(room: string): RoomVia {
    if (this.ownRoomUser !== null && isUserRoomOf(room, this.ownRoomUser)) {
      this.ownRoomUser = null;
      return RoomVia.OWNER;
    }
    if (!this.topicRooms?.delete(room)) return RoomVia.NONE;
    if (this.topicRooms.size === 0) this.topicRooms = null;
    return RoomVia.TOPIC;
  }

  /** Forgets every room and returns them (a closed socket: uWS already dropped its topics). */
  clearRooms(): string[] {
    const list = this.roomList();
    this.ownRoomUser = null;
    this.topicRooms = null;
    return list;
  }

  /** Note documents this socket joined over Socket.IO (`ydoc:document:join`), left on close. Allocated on first use. */
  get notes(): Set<string> {
    return (this.noteSet ??= new Set());
  }

  /** Whether the socket joined any note document (without allocating the set). */
  get hasNotes(): boolean {
    return this.noteSet !== null && this.noteSet.size > 0;
  }

  /** Work a frame started but its reply does not wait for (e.g. a session touch): a failure is logged, never unhandled. */
  background(work: Promise<unknown>, what: string): void {
    work.catch((err: unknown) => this.warnFailed(what, err));
  }

  /** The one log line of this socket's bookkeeping that failed (in the background or at once): `<what> failed`. */
  warnFailed(what: string, err: unknown): void {
    this.env.log.warn({ sid: this.sid, err: errorMessage(err) }, `${what} failed`);
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
    const rate = (this.rate ??= new FrameRate(this.env.limits.messagesPerSecond, this.env.limits.messageBurst, now));
    if (rate.take(now)) {
      rate.violations = 0;
      return RateVerdict.OK;
    }
    rate.violations += 1;
    return rate.violations >= this.env.limits.maxRateViolations ? RateVerdict.CLOSE : RateVerdict.LIMITED;
  }

  /**
   * Handles one decoded frame from the uWS message callback: at once when nothing of
   * this socket is queued, else behind the queue (throws RATE_LIMITED when it is full).
   */
  receive(dispatcher: FrameDispatcher, msg: IncomingEvent): void {
    if (this.pending > 0) {
      this.enqueue(() => dispatcher.dispatch(this, msg));
      return;
    }
    // uWS corks the receiving socket around its message callback: no cork of our own here.
    let result: void | Promise<void>;
    this.corked = true;
    try {
      result = dispatcher.dispatch(this, msg);
    } finally {
      this.corked = false;
    }
    if (result !== undefined) this.track(result);
  }

  /**
   * Runs `task` after every earlier task of this socket — at once when there is none.
   * The queue is bounded by the burst size: a client cannot pile up unbounded work
   * behind a slow handler.
   */
  enqueue(task: () => void | Promise<void>): void {
    if (this.pending === 0) {
      const result = this.runCorked(task);
      if (result !== undefined) this.track(result);
      return;
    }
    // +1: the user-room join queued at open is not the client's frame.
    if (this.pending >= this.env.limits.messageBurst + 1) {
      throw new SwitchyardError(ErrorCode.RATE_LIMITED, `too many messages in flight (max ${this.env.limits.messageBurst})`);
    }
    this.pending += 1;
    this.tail = this.tail!.then(() => this.runCorked(task)).then(
      () => this.settle(),
      (err: unknown) => this.settle(err),
    );
  }

  /** Resolves when every queued task has run (tests, shutdown). */
  drained(): Promise<void> {
    return this.tail ?? Promise.resolve();
  }

  /** The promise of a task that awaits becomes the queue's tail. */
  private track(result: Promise<void>): void {
    this.pending += 1;
    this.tail = result.then(
      () => this.settle(),
      (err: unknown) => this.settle(err),
    );
  }

  private settle(err?: unknown): void {
    // Tasks report their own errors to the client; one escaping here is a bug, but must not stall the queue.
    if (err !== undefined) this.env.log.error({ sid: this.sid, err: errorMessage(err) }, 'socket task failed');
    this.pending -= 1;
    if (this.pending === 0) this.tail = null;
  }

  /**
   * Runs the synchronous part of a task under one cork (a no-op inside a uWS callback,
   * which already corks), so its ack and publishes leave in one write per socket.
   * Returns the task's promise when it awaits.
   */
  private runCorked(task: () => void | Promise<void>): void | Promise<void> {
    if (this.closed || this.corked) return task();
    let result: void | Promise<void> = undefined;
    let thrown: unknown = null;
    this.ws.cork(() => {
      this.corked = true;
      try {
        result = task();
      } catch (err) {
        thrown = err ?? new Error('task threw a nullish value');
      } finally {
        this.corked = false;
      }
    });
    if (thrown !== null) {
      this.env.log.error({ sid: this.sid, err: errorMessage(thrown) }, 'socket task failed');
      return undefined;
    }
    return result;
  }

  /** From here until `releasePublishes`, publishes of this socket wait (the dispatcher writes the ack in between). */
  holdPublishes(): void {
    this.holding = true;
  }

  releasePublishes(): void {
    this.holding = false;
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (let i = 0; i < held.length; i += 3) this.publishNow(held[i] as string, held[i + 1] as string | Uint8Array, held[i + 2] as boolean);
  }

  /**
   * Sends one text frame. A socket whose queued output would pass
   * `maxBackpressureBytes` is closed with SLOW_CONSUMER — never silently skipped.
   */
  send(frame: string): boolean {
    if (this.closed) return false;
    if (this.ws.getBufferedAmount() + frame.length > this.env.limits.maxBackpressureBytes) {
      this.end(CloseCodes.SLOW_CONSUMER);
      return false;
    }
    const status = this.write(frame, false);
    if (status === 2) {
      this.end(CloseCodes.SLOW_CONSUMER);
      return false;
    }
    this.env.metrics.countOut(1);
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
   * During a dispatch it is held until the frame's ack is written.
   */
  publishExcludingSelf(topic: string, frame: string | Uint8Array, isBinary = false): void {
    if (this.closed) return;
    if (this.holding) {
      (this.held ??= []).push(topic, frame, isBinary);
      return;
    }
    this.publishNow(topic, frame, isBinary);
  }

  /** Sends a raw frame (e.g. a Socket.IO binary attachment), corked; false once closed. */
  sendRaw(frame: string | Uint8Array, isBinary: boolean): boolean {
    if (this.closed) return false;
    const status = this.write(frame, isBinary);
    if (status === 2) this.end(CloseCodes.SLOW_CONSUMER);
    return status !== 2;
  }

  end(close: CloseCode): void {
    if (this.closed) return;
    this.closed = true;
    this.held = null;
    this.ws.cork(() => this.ws.end(close.code, close.reason));
  }

  private publishNow(topic: string, frame: string | Uint8Array, isBinary: boolean): void {
    if (this.closed) return;
    if (this.corked) {
      this.ws.publish(topic, frame, isBinary);
      return;
    }
    this.ws.cork(() => {
      this.ws.publish(topic, frame, isBinary);
    });
  }

  /** uWS send status: 0 backpressured, 1 sent, 2 dropped (over the limit). */
  private write(frame: string | Uint8Array, isBinary: boolean): number {
    if (this.corked) return this.ws.send(frame, isBinary);
    let status = 0;
    this.ws.cork(() => {
      status = this.ws.send(frame, isBinary);
    });
    return status;
  }
}
