import type { TemplatedApp } from 'uWebSockets.js';
import { BackendUnavailableError, errorMessage } from '../errors.js';
import type { BusHandler, MessageBus } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';
import { RoomVia, type Connection } from './Connection.js';
import { jsonOf, type Dialect } from './Dialect.js';
import type { GatewayMetrics } from './GatewayMetrics.js';
import { userOfRoom } from './RoomPolicy.js';

const TOPIC_PREFIX = 'room:';

/** The bus topic that carries a room's frames between instances. */
export const roomTopic = (room: string): string => `${TOPIC_PREFIX}${room}`;

/** In the event slot of a bus frame: a control frame for the instances (never valid event JSON, never sent to sockets). */
const CONTROL = '!control';
const NEWLINE = 10;

interface LocalRoom {
  members: number;
  /**
   * The bus subscription while it is being made; null once it settled (a join to this
   * room then completes synchronously, and an idle room holds no promise).
   */
  pending: Promise<void> | null;
  /** False while pending or when subscribing failed (local delivery still works). */
  subscribed: boolean;
}

/**
 * Rooms: uWS native topics deliver locally; the coordination bus carries frames to
 * other instances. This instance subscribes to a room's bus topic only while it has
 * a local member (as y-redis does), so no node receives every room's traffic.
 * Frames are dialect-neutral: `<origin instance id>` then one or more `\n<event JSON>\n<data JSON>`
 * on the bus (JSON escapes newlines, so the cuts are unambiguous; the bus merges a room's frames
 * of one loop turn into one message); an instance drops its own echo unread.
 * Each dialect has its own native topic per room, and a broadcast is framed once per
 * dialect that has local members — not once per socket. A socket's own `user:<id>` room
 * is the exception: every socket is in one, and a native topic per user cost ~0.5 KB of
 * uWS memory per idle socket, so it is delivered to the user's sockets (`socketsOf`)
 * directly; only another user's room joined by an admin uses the topic.
 */
export class RoomHub {
  private readonly local = new Map<string, LocalRoom>();
  /** Control frames from other instances on a room's topic (e.g. a membership removal). */
  onControl: ((room: string, dataJson: string) => void) | null = null;
  /** Last state the bus reported; a relay while it is down tells its sender the other instances missed it. */
  private busUp = true;
  private bufferedBusErrors = 0;
  /**
   * The one handler of every room topic: a closure per room and the bus' unsubscribe
   * closure per topic were ~220 B per connected user (each socket's `user:` room).
   */
  private readonly onTopic: BusHandler = (payload, topic) => {
    const room = topic.slice(TOPIC_PREFIX.length);
    // A frame that was on its way when the room was released must not reach a later member.
    if (this.local.has(room)) this.onBusFrame(room, payload);
  };

  constructor(
    private readonly app: TemplatedApp,
    private readonly bus: MessageBus,
    private readonly instanceId: string,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly dialects: readonly Dialect[],
    /** The open sockets of a user on this instance (they may be in its `user:` room as its owners). */
    private readonly socketsOf: (userId: string) => readonly Connection[],
  ) {
    if (instanceId.includes('\n')) throw new TypeError('instanceId must not contain a newline');
    bus.onConnectionChange((connected) => {
      this.busUp = connected;
    });
  }

  /**
   * Adds the socket to the room; the promise (if any) resolves once frames from other
   * instances will reach it. Joining a room whose bus subscription is already up is
   * synchronous, so the frame that asked for it stays on the fast path.
   */
  join(conn: Connection, room: string): void | Promise<void> {
    if (!conn.inRoom(room)) {
      if (conn.addRoom(room) === RoomVia.TOPIC) conn.subscribe(room);
      const state = this.local.get(room) ?? this.open(room);
      state.members += 1;
    }
    return this.local.get(room)?.pending ?? undefined;
  }

  /** Removes the socket from the room; false when it was not in it. */
  leave(conn: Connection, room: string): boolean {
    const via = conn.removeRoom(room);
    if (via === RoomVia.NONE) return false;
    if (via === RoomVia.TOPIC) conn.unsubscribe(room);
    this.release(room);
    return true;
  }

  /** Forgets every room of a closed socket (uWS already dropped its topics). */
  leaveAll(conn: Connection): void {
    for (const room of conn.clearRooms()) this.release(room);
  }

  /**
   * Sends `event` with `data` to every member of the room, of both dialects, on every
   * instance; with `exclude`, not to that socket. `data` is stringified once.
   */
  async emit(room: string, event: string, data: unknown, exclude?: Connection): Promise<void> {
    const eventJson = JSON.stringify(event);
    const dataJson = jsonOf(data);
    this.deliverLocal(room, eventJson, dataJson, exclude);
    await this.publishFrame(room, eventJson, dataJson);
  }

  /** Sends a control frame to the other instances that have members of the room (no socket receives it). */
  async publishControl(room: string, dataJson: string): Promise<void> {
    await this.publishFrame(room, CONTROL, dataJson);
  }

  /**
   * A socket's broadcast to its room (`events:channel`, `events:chat`): delivered to the
   * local members now — inside the frame's dispatch, so after its ack — and handed to
   * the bus without waiting for it. The sender's ack and the others' deliveries are
   * independent (Redis pub/sub is at-most-once anyway); while the bus reports itself
   * down the sender gets BACKEND_UNAVAILABLE, since other instances will not see it.
   */
  relay(room: string, event: string, data: unknown, from: Connection): void {
    const eventJson = JSON.stringify(event);
    const dataJson = jsonOf(data);
    this.deliverLocal(room, eventJson, dataJson, from);
    if (!this.busUp) throw new BackendUnavailableError(`room bus is down: ${room} reached this instance only`);
    this.publishFrame(room, eventJson, dataJson).catch((err: unknown) => this.busPublishFailed(room, err));
  }

  /**
   * Sends to this instance's members only, for callers that reach the other instances
   * themselves (document actors: every instance's actor applies each update from the log).
   */
  emitLocal(room: string, event: string, data: unknown): void {
    this.deliverLocal(room, JSON.stringify(event), jsonOf(data));
  }

  /** Rooms with at least one local member. */
  roomCount(): number {
    return this.local.size;
  }

  /** Drops every bus subscription (shutdown). */
  async close(): Promise<void> {
    const states = [...this.local];
    this.local.clear();
    await Promise.all(states.map(([room, s]) => this.unsubscribe(room, s)));
  }

  private publishFrame(room: string, eventJson: string, dataJson: string): Promise<void> {
    return this.bus.publishFrame(roomTopic(room), this.instanceId, `\n${eventJson}\n${dataJson}`);
  }

  private open(room: string): LocalRoom {
    const state: LocalRoom = { members: 0, pending: null, subscribed: false };
    // Reopened before its release unsubscribed, the topic keeps the one subscription (the bus
    // holds a handler once per topic) and unsubscribe() below leaves it in place.
    state.pending = this.bus
      .subscribe(roomTopic(room), this.onTopic)
      .then(
        () => {
          state.subscribed = true;
        },
        (err: unknown) => {
          this.log.error({ room, err: errorMessage(err) }, 'room bus subscribe failed: only local members will receive this room');
        },
      )
      .finally(() => {
        state.pending = null;
      });
    this.local.set(room, state);
    return state;
  }

  /** A failed relay publish is logged once per burst of failures, not once per frame. */
  private busPublishFailed(room: string, err: unknown): void {
    this.bufferedBusErrors += 1;
    if (this.bufferedBusErrors > 1) return;
    setTimeout(() => {
      const failed = this.bufferedBusErrors;
      this.bufferedBusErrors = 0;
      this.log.warn({ room, failed, err: errorMessage(err) }, 'room relay publish failed: other instances missed these frames');
    }, 1_000).unref();
  }

  private release(room: string): void {
    const state = this.local.get(room);
    if (!state) return;
    state.members -= 1;
    if (state.members > 0) return;
    this.local.delete(room);
    void this.unsubscribe(room, state);
  }

  private async unsubscribe(room: string, state: LocalRoom): Promise<void> {
    try {
      await state.pending;
      // Reopened meanwhile: the new members share this subscription (the check and the call are one synchronous step).
      if (!state.subscribed || this.local.has(room)) return;
      await this.bus.unsubscribe(roomTopic(room), this.onTopic);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'room bus unsubscribe failed');
    }
  }

  /** A bus message of the room: the origin, then its frames, decoded whole before any is delivered. */
  private onBusFrame(room: string, payload: string): void {
    const id = this.instanceId;
    if (payload.charCodeAt(id.length) === NEWLINE && payload.startsWith(id)) return; // our own echo, already delivered locally
    const frames: string[] = []; // event JSON, data JSON, event JSON, …
    for (let end = payload.indexOf('\n'); end >= 0; ) {
      const cut = payload.indexOf('\n', end + 1);
      if (cut < 0) {
        this.log.warn({ room }, 'malformed room frame on the bus');
        return;
      }
      const next = payload.indexOf('\n', cut + 1);
      frames.push(payload.slice(end + 1, cut), next < 0 ? payload.slice(cut + 1) : payload.slice(cut + 1, next));
      end = next;
    }
    if (frames.length === 0) this.log.warn({ room }, 'malformed room frame on the bus');
    for (let i = 0; i < frames.length; i += 2) {
      if (frames[i] === CONTROL) this.onControl?.(room, frames[i + 1]!);
      else this.deliverLocal(room, frames[i]!, frames[i + 1]!);
    }
  }

  /**
   * uWS 20.30 has no app-level `cork` (`app.cork` is undefined), so a broadcast from a
   * bus callback is a plain `app.publish`; a socket-scoped publish is corked on that socket.
   */
  private deliverLocal(room: string, eventJson: string, dataJson: string, exclude?: Connection): void {
    let receivers = 0;
    const excluding = exclude !== undefined && exclude.isOpen;
    for (const dialect of this.dialects) {
      const topic = dialect.topic(room);
      let members = this.app.numSubscribers(topic);
      if (members === 0) continue;
      const frame = dialect.event(eventJson, dataJson);
      if (excluding) {
        // Published through the excluded socket: uWS skips it on its own topic, reaches everyone on the other.
        if (exclude.dialect === dialect && exclude.inTopic(room)) members -= 1;
        exclude.publishExcludingSelf(topic, frame);
      } else {
        this.app.publish(topic, frame, false);
      }
      receivers += members;
    }
    if (receivers > 0) this.metrics.countOut(receivers);
    const owner = userOfRoom(room);
    if (owner !== null) this.deliverToOwners(owner, eventJson, dataJson, exclude);
  }

  /** A `user:<id>` room's own sockets (Connection.send counts them and closes a slow one as a topic would). */
  private deliverToOwners(userId: string, eventJson: string, dataJson: string, exclude?: Connection): void {
    const sockets = this.socketsOf(userId);
    if (sockets.length === 0) return;
    // Framed once per dialect, like a topic publish.
    const frames: Array<string | undefined> = [];
    for (const conn of sockets) {
      if (conn === exclude || !conn.ownsUserRoomOf(userId)) continue;
      const d = this.dialects.indexOf(conn.dialect);
      conn.send((frames[d] ??= conn.dialect.event(eventJson, dataJson)));
    }
  }
}
