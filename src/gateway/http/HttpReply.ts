import type { HttpResponse } from 'uWebSockets.js';
import { statusLine } from './status.js';

/**
 * What a route handler may return to control the status, headers or content type.
 * Any other return value is sent as `200` JSON.
 */
export class HttpReply {
  private constructor(
    readonly status: number,
    readonly body: string | Uint8Array,
    readonly headers: Readonly<Record<string, string>>,
  ) {}

  static json(status: number, value: unknown, headers: Record<string, string> = {}): HttpReply {
    return new HttpReply(status, JSON.stringify(value ?? null), { 'content-type': 'application/json; charset=utf-8', ...headers });
  }

  static text(status: number, text: string, contentType = 'text/plain; charset=utf-8'): HttpReply {
    return new HttpReply(status, text, { 'content-type': contentType });
  }

  static error(status: number, code: string, message: string, headers: Record<string, string> = {}): HttpReply {
    return HttpReply.json(status, { error: { code, message } }, headers);
  }
}

/** Per-request flags shared by the router, the body reader and the writer. */
export interface ResponseState {
  aborted: boolean;
  done: boolean;
}

/**
 * Writes a reply once, corked (the write usually happens after an await, outside the
 * uWS callback), and never after the client went away.
 */
export function send(res: HttpResponse, state: ResponseState, reply: HttpReply, closeConnection = false): void {
  if (state.aborted || state.done) return;
  state.done = true;
  res.cork(() => {
    res.writeStatus(statusLine(reply.status));
    for (const [name, value] of Object.entries(reply.headers)) res.writeHeader(name, value);
    res.end(reply.body, closeConnection);
  });
}
