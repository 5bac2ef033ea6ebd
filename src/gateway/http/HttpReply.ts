import type { HttpResponse } from 'uWebSockets.js';
import { HttpReply } from '../../http/HttpReply.js';
import { statusLine } from './status.js';

export { HttpReply };

/** Per-request flags shared by the router, the body reader and the writer. */
export interface ResponseState {
  aborted: boolean;
  done: boolean;
  /** The body stream is paused (the router is checking the token before reading it). */
  paused?: boolean;
}

/**
 * Writes a reply once, corked (the write usually happens after an await, outside the
 * uWS callback), and never after the client went away.
 */
export function send(res: HttpResponse, state: ResponseState, reply: HttpReply, closeConnection = false): void {
  if (state.aborted || state.done) return;
  state.done = true;
  // uSockets stops polling a paused socket for writes too: resume so the reply (and the close) go out.
  if (state.paused) {
    state.paused = false;
    res.resume();
  }
  res.cork(() => {
    res.writeStatus(statusLine(reply.status));
    for (const [name, value] of Object.entries(reply.headers)) res.writeHeader(name, value);
    res.end(reply.body, closeConnection);
  });
}
