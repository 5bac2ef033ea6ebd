import type { HttpResponse } from 'uWebSockets.js';
import { HttpReply } from '../../http/HttpReply.js';
import { statusLine } from './status.js';

export { HttpReply };

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
