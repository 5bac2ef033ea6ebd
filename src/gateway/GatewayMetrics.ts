import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The gateway's Prometheus series; gauges are read from the gateway at scrape time.
 * The per-frame counters are plain numbers folded into their Counter at scrape time:
 * `Counter.inc` hashes labels and validates on every call, and the relay path counts
 * every frame in and every delivery out.
 */
export class GatewayMetrics {
  readonly messagesIn: Counter;
  readonly messagesOut: Counter;
  private framesIn = 0;
  private framesOut = 0;
  readonly closed: Counter<'reason'>;
  readonly upgradesRejected: Counter<'reason'>;

  constructor(
    registry: Registry,
    sources: { connections: () => number; rooms: () => number; native: boolean },
  ) {
    new Gauge({
      name: 'switchyard_ws_connections',
      help: 'Open event-socket connections on this instance',
      registers: [registry],
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: 'switchyard_rooms',
      help: 'Rooms with at least one local subscriber on this instance',
      registers: [registry],
      collect() {
        this.set(sources.rooms());
      },
    });
    new Gauge({
      name: 'switchyard_uws_native',
      help: '1 when the native uWebSockets.js binary is active, 0 on the slow JS fallback',
      registers: [registry],
    }).set(sources.native ? 1 : 0);
    const self = this;
    this.messagesIn = new Counter({
      name: 'switchyard_ws_messages_in_total',
      help: 'Frames received on event sockets',
      registers: [registry],
      collect() {
        this.inc(self.framesIn);
        self.framesIn = 0;
      },
    });
    this.messagesOut = new Counter({
      name: 'switchyard_ws_messages_out_total',
      help: 'Frames sent on event sockets (a room broadcast counts once per local receiver)',
      registers: [registry],
      collect() {
        this.inc(self.framesOut);
        self.framesOut = 0;
      },
    });
    this.closed = new Counter({
      name: 'switchyard_ws_closed_total',
      help: 'Event sockets closed, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.upgradesRejected = new Counter({
      name: 'switchyard_ws_upgrades_rejected_total',
      help: 'WebSocket upgrades refused before the socket opened, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  /** One frame received (folded into `messagesIn` at scrape time). */
  countIn(): void {
    this.framesIn += 1;
  }

  /** `n` frames sent (folded into `messagesOut` at scrape time). */
  countOut(n: number): void {
    this.framesOut += n;
  }
}
