import { ErrorCode, SwitchyardError, errorMessage } from '../errors.js';
import type { SocketEventContext, SocketEventHandler } from '../http/ports.js';
import type { Logger } from '../observability/logger.js';
import type { Connection } from './Connection.js';
import { toErrorBody, type AckId, type ErrorBody, type IncomingEvent } from './protocol.js';

/** What an event handler added with `Gateway.onEvent` sees (the web port's type). */
export type EventContext = SocketEventContext;

/** Returns the ack data, or throws a SwitchyardError whose code the client receives. */
export type EventHandler = SocketEventHandler;

/** Built-in events get the connection itself. */
export type ConnectionHandler = (conn: Connection, data: unknown) => unknown | Promise<unknown>;

/** Sends the one reply a frame gets: an ack, an ack error, or (no ack) an `error` event. */
export function replyError(conn: Connection, ack: AckId | undefined, error: ErrorBody): void {
  conn.sendError(ack, error);
}

/**
 * Event name → handler. Each frame gets exactly one reply when it carries an `ack`
 * (its result or its error) and an `error` event when it fails without one.
 */
export class EventDispatcher {
  private readonly handlers = new Map<string, ConnectionHandler>();
  private readonly observers = new Map<string, Observer[]>();

  constructor(private readonly log: Logger) {}

  register(event: string, handler: ConnectionHandler): void {
    if (this.handlers.has(event)) throw new TypeError(`event "${event}" already has a handler`);
    this.handlers.set(event, handler);
  }

  /** Adapts a public handler (a feature's, through the web port) to the connection-level signature. */
  registerPublic(event: string, handler: EventHandler): void {
    this.register(event, (conn, data) => handler(new ConnectionEventContext(conn, data)));
  }

  /**
   * Also runs `observer` for every frame of `event` that its handler answered without an
   * error, right after the reply; a promise it returns finishes in the background (the
   * gateway's own bookkeeping next to a feature's handler, e.g. refreshing note sessions on `heartbeat`).
   */
  observe(event: string, observer: (conn: Connection) => Promise<void> | void): void {
    const list = this.observers.get(event) ?? [];
    list.push({ run: observer, what: `${event} observer` });
    this.observers.set(event, list);
  }

  has(event: string): boolean {
    return this.handlers.has(event);
  }

  /**
   * Runs the frame's handler. A handler that returns a value (not a promise) is done
   * here, synchronously: the caller is still inside uWS' message callback, and the ack
   * is written before the publishes the handler made (they are held on the connection
   * until then). Only a handler that returns a promise makes this return one.
   */
  dispatch(conn: Connection, msg: IncomingEvent): void | Promise<void> {
    const handler = this.handlers.get(msg.event);
    if (!handler) {
      replyError(conn, msg.ack, toErrorBody(new SwitchyardError(ErrorCode.UNKNOWN_EVENT, `unknown event "${msg.event}"`)));
      return;
    }
    let result: unknown;
    conn.holdPublishes();
    try {
      result = handler(conn, msg.data);
    } catch (err) {
      this.fail(conn, msg, err);
      conn.releasePublishes();
      return;
    }
    if (isPromiseLike(result)) {
      // Publishes made before the first await go out now; later ones are not held.
      conn.releasePublishes();
      return Promise.resolve(result).then(
        (value) => this.reply(conn, msg, value),
        (err: unknown) => this.fail(conn, msg, err),
      );
    }
    this.reply(conn, msg, result);
    conn.releasePublishes();
  }

  private reply(conn: Connection, msg: IncomingEvent, value: unknown): void {
    if (msg.ack !== undefined) {
      try {
        conn.sendAck(msg.ack, value);
      } catch (err) {
        // E.g. a handler result JSON cannot encode: the client still gets its one reply.
        this.fail(conn, msg, err);
      }
    }
    const observers = this.observers.get(msg.event);
    if (observers) for (const o of observers) this.runObserver(conn, o);
  }

  /**
   * Called in the same turn, after the ack went out: an observer with nothing to do (the
   * common case: a heartbeat of a socket without notes) costs no promise and no closure
   * on the heartbeat path; one that returns a promise finishes in the background.
   */
  private runObserver(conn: Connection, o: Observer): void {
    try {
      const work = o.run(conn);
      if (work) conn.background(work, o.what);
    } catch (err) {
      conn.warnFailed(o.what, err);
    }
  }

  private fail(conn: Connection, msg: IncomingEvent, err: unknown): void {
    if (!(err instanceof SwitchyardError)) {
      this.log.error({ event: msg.event, sid: conn.sid, err: errorMessage(err) }, 'event handler failed');
    }
    replyError(conn, msg.ack, toErrorBody(err));
  }
}

interface Observer {
  readonly run: (conn: Connection) => Promise<void> | void;
  /** For its failure log line, made once. */
  readonly what: string;
}

/**
 * What a public handler sees of its connection. A class, not an object literal: the literal's
 * getters and arrow functions were new closures on every frame (~1.6 KB of garbage per
 * heartbeat with the rest of the path, measured with V8's sampling heap profiler), and the
 * young-generation scavenges they caused were most of the event socket's ack tail (issue 14).
 */
class ConnectionEventContext implements SocketEventContext {
  readonly principal: Connection['principal'];
  readonly sid: string;
  readonly connectedAt: number;

  constructor(
    private readonly conn: Connection,
    readonly data: unknown,
  ) {
    this.principal = conn.principal;
    this.sid = conn.sid;
    this.connectedAt = conn.connectedAt;
  }

  /** A copy made when asked for: most handlers never look, and a socket keeps no Set for its own user room. */
  get rooms(): ReadonlySet<string> {
    return new Set(this.conn.roomList());
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  emit(event: string, data: unknown): void {
    this.conn.sendEvent(event, data);
  }

  background(work: Promise<unknown>, what: string): void {
    this.conn.background(work, what);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
