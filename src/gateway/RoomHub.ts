import type { TemplatedApp } from 'uWebSockets.js';
import { errorMessage } from '../errors.js';
import type { MessageBus, Unsubscribe } from '../coordination/ports.js';
import type { Logger } from '../observability/logger.js';
import type { Connection } from './Connection.js';
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
 * Frames on the bus are `<origin instance id>\n<frame>`; an instance drops its own echo.
 */
export class RoomHub {
  private readonly local = new Map<string, LocalRoom>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly bus: MessageBus,
    private readonly instanceId: string,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
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
   * Sends a frame to every member of the room on every instance; with `exclude`,
   * not to that socket (it must be a member, as uWS `ws.publish` skips the publisher).
   */
  async emit(room: string, frame: string, exclude?: Connection): Promise<void> {
    this.deliverLocal(room, frame, exclude);
    await this.bus.publish(roomTopic(room), `${this.instanceId}\n${frame}`);
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
    if (cut < 0) {
      this.log.warn({ room }, 'malformed room frame on the bus');
      return;
    }
    if (payload.slice(0, cut) === this.instanceId) return; // our own echo, already delivered locally
    this.deliverLocal(room, payload.slice(cut + 1));
  }

  /**
   * uWS 20.30 has no app-level `cork` (`app.cork` is undefined), so a broadcast from a
   * bus callback is a plain `app.publish`; a socket-scoped publish is corked on that socket.
   */
  private deliverLocal(room: string, frame: string, exclude?: Connection): void {
    let receivers = this.app.numSubscribers(room);
    if (exclude && exclude.isOpen && exclude.rooms.has(room)) {
      receivers -= 1;
      exclude.publishExcludingSelf(room, frame);
    } else {
      this.app.publish(room, frame, false);
    }
    if (receivers > 0) this.metrics.messagesOut.inc(receivers);
  }
}
