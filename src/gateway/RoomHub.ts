import type { TemplatedApp } from 'uWebSockets.js';
import { errorMessage } from '../errors.js';
import type { MessageBus, Unsubscribe } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';
import type { Connection } from './Connection.js';
import { jsonOf, type Dialect } from './Dialect.js';
import type { GatewayMetrics } from './GatewayMetrics.js';

/** The bus topic that carries a room's frames between instances. */
export const roomTopic = (room: string): string => `room:${room}`;

interface LocalRoom {
  members: number;
  /** The bus subscription for this room; null when subscribing failed (local delivery still works). */
  readonly bus: Promise<Unsubscribe | null>;
}

/**
 * Rooms: uWS native topics deliver locally; the coordination bus carries frames to
 * other instances. This instance subscribes to a room's bus topic only while it has
 * a local member (as y-redis does), so no node receives every room's traffic.
 * Frames are dialect-neutral: `<origin instance id>\n<event JSON>\n<data JSON>` on the bus
 * (JSON escapes newlines, so the cuts are unambiguous); an instance drops its own echo.
 * Each dialect has its own native topic per room, and a broadcast is framed once per
 * dialect that has local members — not once per socket.
 */
export class RoomHub {
  private readonly local = new Map<string, LocalRoom>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly bus: MessageBus,
    private readonly instanceId: string,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly dialects: readonly Dialect[],
  ) {
    if (instanceId.includes('\n')) throw new TypeError('instanceId must not contain a newline');
  }

  /** Adds the socket to the room; resolves once frames from other instances will reach it. */
  async join(conn: Connection, room: string): Promise<void> {
    if (!conn.rooms.has(room)) {
      conn.rooms.add(room);
      conn.subscribe(room);
      const state = this.local.get(room) ?? this.open(room);
      state.members += 1;
    }
    await this.local.get(room)?.bus;
  }

  /** Removes the socket from the room; false when it was not in it. */
  leave(conn: Connection, room: string): boolean {
    if (!conn.rooms.delete(room)) return false;
    conn.unsubscribe(room);
    this.release(room);
    return true;
  }

  /** Forgets every room of a closed socket (uWS already dropped its topics). */
  leaveAll(conn: Connection): void {
    for (const room of conn.rooms) this.release(room);
    conn.rooms.clear();
  }

  /**
   * Sends `event` with `data` to every member of the room, of both dialects, on every
   * instance; with `exclude`, not to that socket. `data` is stringified once.
   */
  async emit(room: string, event: string, data: unknown, exclude?: Connection): Promise<void> {
    const eventJson = JSON.stringify(event);
    const dataJson = jsonOf(data);
    this.deliverLocal(room, eventJson, dataJson, exclude);
    await this.bus.publish(roomTopic(room), `${this.instanceId}\n${eventJson}\n${dataJson}`);
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
    const states = [...this.local.values()];
    this.local.clear();
    await Promise.all(states.map((s) => this.unsubscribe(s)));
  }

  private open(room: string): LocalRoom {
    const state: LocalRoom = {
      members: 0,
      bus: this.bus
        .subscribe(roomTopic(room), (payload) => {
          // A handler of a room that was released (and maybe reopened) in the meantime must not deliver twice.
          if (this.local.get(room) === state) this.onBusFrame(room, payload);
        })
        .catch((err: unknown) => {
          this.log.error({ room, err: errorMessage(err) }, 'room bus subscribe failed: only local members will receive this room');
          return null;
        }),
    };
    this.local.set(room, state);
    return state;
  }

  private release(room: string): void {
    const state = this.local.get(room);
    if (!state) return;
    state.members -= 1;
    if (state.members > 0) return;
    this.local.delete(room);
    void this.unsubscribe(state);
  }

  private async unsubscribe(state: LocalRoom): Promise<void> {
    try {
      const unsubscribe = await state.bus;
      await unsubscribe?.();
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'room bus unsubscribe failed');
    }
  }

  private onBusFrame(room: string, payload: string): void {
    const cut = payload.indexOf('\n');
    const cut2 = cut < 0 ? -1 : payload.indexOf('\n', cut + 1);
    if (cut2 < 0) {
      this.log.warn({ room }, 'malformed room frame on the bus');
      return;
    }
    if (payload.slice(0, cut) === this.instanceId) return; // our own echo, already delivered locally
    this.deliverLocal(room, payload.slice(cut + 1, cut2), payload.slice(cut2 + 1));
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
        if (exclude.dialect === dialect && exclude.rooms.has(room)) members -= 1;
        exclude.publishExcludingSelf(topic, frame);
      } else {
        this.app.publish(topic, frame, false);
      }
      receivers += members;
    }
    if (receivers > 0) this.metrics.messagesOut.inc(receivers);
  }
}
