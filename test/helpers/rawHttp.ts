import { connect } from 'node:net';
import { settlesWithin } from '../../src/util/deadline.js';

/**
 * A raw HTTP/1.1 upload over node:net, so a test sees exactly what the server does with a
 * body it refuses: the reply, whether it closes the connection, and how much of the body the
 * client got to send. Like an attacker, it keeps sending after the reply until the server
 * closes the connection. The body is generated in 64 KiB pieces under backpressure (never held
 * in memory), so a 50 MB upload costs the test process nothing either.
 */
export interface RawUpload {
  readonly port: number;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Body bytes to send (zeros). */
  readonly bodyBytes: number;
  /** Transfer-Encoding: chunked instead of Content-Length. */
  readonly chunked?: boolean;
  /** Content-Length to declare (default bodyBytes); ignored when chunked. */
  readonly declaredLength?: number;
  /**
   * How long to wait for the server to close after replying. Below uWS's 10 s idle timeout,
   * so only an active close counts. @default 5_000 ms
   */
  readonly closeWithinMs?: number;
}

export interface RawReply {
  /** 0 when no status line arrived. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** True when the server ended the connection (FIN or RST) within closeWithinMs of the reply. */
  readonly closedByServer: boolean;
  /** Body bytes the client handed to the kernel before the socket was gone (or all of them). */
  readonly bodyBytesSent: number;
}

const PIECE = Buffer.alloc(64 * 1024);

export async function rawUpload(opts: RawUpload): Promise<RawReply> {
  const socket = connect({ port: opts.port, host: '127.0.0.1' });
  socket.on('error', () => {}); // EPIPE / ECONNRESET once the server closes mid-upload: expected
  const head = [`${opts.method ?? 'POST'} ${opts.path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
  head.push(opts.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${opts.declaredLength ?? opts.bodyBytes}`);

  let received = '';
  let replied = false;
  let sent = 0;
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => {
    closed = true;
    resolve();
  }));
  const repliedPromise = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!replied && complete(received)) {
        replied = true;
        resolve();
      }
    });
    socket.once('close', () => resolve());
  });

  const pump = (): void => {
    while (!closed && sent < opts.bodyBytes) {
      const n = Math.min(PIECE.length, opts.bodyBytes - sent);
      const piece = PIECE.subarray(0, n);
      const ok = opts.chunked ? socket.write(`${n.toString(16)}\r\n`) && socket.write(piece) && socket.write('\r\n') : socket.write(piece);
      sent += n;
      if (!ok) {
        socket.once('drain', pump);
        return;
      }
    }
    if (opts.chunked && sent >= opts.bodyBytes && !closed) socket.write('0\r\n\r\n');
  };
  socket.once('connect', () => {
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    pump();
  });

  await repliedPromise;
  const closedByServer = closed || (await settlesWithin(closedPromise, opts.closeWithinMs ?? 5_000));
  socket.destroy();
  return { ...parse(received), closedByServer, bodyBytesSent: sent };
}

/** A whole response: head plus Content-Length bytes (the router always sends a length). */
function complete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  return !length || text.length - end - 4 >= Number(length[1]);
}

function parse(text: string): Pick<RawReply, 'status' | 'headers' | 'body'> {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '' };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: text.slice(end + 4) };
}
