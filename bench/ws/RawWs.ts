import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A minimal WebSocket client for the load generator: it must cost far less per
 * frame than the servers it measures. It never inflates (no extensions offered),
 * never decodes broadcast payloads (a frame walker hands out views of the read buffer,
 * or skips bodies nobody asked for), and sends pre-built frames. Only what the bench needs: text frames, ping→pong,
 * server frames unmasked (RFC 6455 §5.1), payloads < 2^53.
 */

export const Opcode = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

export interface RawWsOptions {
  readonly host: string;
  readonly port: number;
  /** Path and query, e.g. `/ws?token=…`. */
  readonly path: string;
  /** Source address (127.0.0.x) to spread 4-tuples when many sockets are opened. */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

/**
 * Called per complete data frame; `payload` only when `wantPayload` asked for it. The payload
 * may be a view into the read buffer: valid during the call only (copy to keep it) — receivers
 * read a few bytes of every broadcast, and a copy per frame would cost the generator more than that.
 */
export type FrameHandler = (opcode: number, length: number, payload: Buffer | null) => void;

/**
 * The client→server frame for `text`. The mask key is all zeros: the RFC requires
 * clients to mask, and servers unmask whatever key comes, so a zero key keeps the
 * frame valid while the payload is written as is — one pre-built buffer per message.
 */
export function clientFrame(text: string | Buffer, opcode: number = Opcode.TEXT): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text) : text;
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65_536 ? 2 : 8;
  const frame = Buffer.alloc(2 + ext + 4 + len); // the 4 mask bytes stay zero
  frame[0] = 0x80 | opcode;
  if (ext === 0) frame[1] = 0x80 | len;
  else if (ext === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  payload.copy(frame, 2 + ext + 4);
  return frame;
}

export class RawWs {
  /**
   * Frames that arrived before the owner set `onFrame` (e.g. socket.io's open packet,
   * often in the same read as the 101 response), with their payloads.
   */
  readonly early: Array<{ opcode: number; length: number; payload: Buffer | null }> = [];
  onFrame: FrameHandler = (opcode, length, payload) => this.early.push({ opcode, length, payload: payload && Buffer.from(payload) });
  /** Whether the payload of a frame of this opcode and length should be collected. */
  wantPayload: (opcode: number, length: number) => boolean = () => true;
  onClose: () => void = () => {};
  closed = false;
  /** `code reason` of the server's close frame, when it sent one (for error messages). */
  closeReason: string | null = null;

  // Frame walker state: header bytes split across reads, then payload bytes left.
  private head: Buffer | null = null;
  private left = 0;
  private opcode = 0;
  private length = 0;
  private parts: Buffer[] | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('close', () => {
      this.closed = true;
      this.onClose();
    });
  }

  /** TCP connect + HTTP/1.1 upgrade; rejects on any status but 101, with the response head. */
  static open(options: RawWsOptions): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port, localAddress: options.localAddress, noDelay: true });
      const timer = setTimeout(() => socket.destroy(new Error(`upgrade timed out after ${options.timeoutMs ?? 10_000} ms`)), options.timeoutMs ?? 10_000);
      let head = Buffer.alloc(0);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.write(
          `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = head.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101/.test(status)) {
          fail(new Error(`upgrade refused: ${status.split('\r\n')[0]} ${head.subarray(end + 4).toString('utf8').slice(0, 200)}`));
          return;
        }
        clearTimeout(timer);
        socket.off('error', fail);
        const ws = new RawWs(socket);
        // A reset shows up as 'close', counted by the owner; the error names it in messages.
        socket.on('error', (err) => (ws.closeReason ??= err.message));
        socket.on('data', (d: Buffer) => ws.walk(d));
        resolve(ws);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) ws.walk(rest);
      };
      socket.on('data', onData);
    });
  }

  /** Writes a pre-built client frame (see `clientFrame`). */
  write(frame: Buffer): void {
    if (!this.closed) this.socket.write(frame);
  }

  sendText(text: string): void {
    this.write(clientFrame(text));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private walk(chunk: Buffer): void {
    let buf = chunk;
    let at = 0;
    if (this.head) {
      buf = Buffer.concat([this.head, chunk]);
      this.head = null;
    }
    while (at < buf.length) {
      if (this.left > 0) {
        const take = Math.min(this.left, buf.length - at);
        if (this.parts) this.parts.push(buf.subarray(at, at + take));
        at += take;
        this.left -= take;
        if (this.left === 0) this.finish();
        continue;
      }
      const avail = buf.length - at;
      if (avail < 2) {
        this.head = Buffer.from(buf.subarray(at));
        return;
      }
      const b1 = buf[at + 1]! & 0x7f;
      const hlen = b1 < 126 ? 2 : b1 === 126 ? 4 : 10;
      if (avail < hlen) {
        this.head = Buffer.from(buf.subarray(at));
        return;
      }
      this.opcode = buf[at]! & 0x0f;
      this.length = b1 < 126 ? b1 : b1 === 126 ? buf.readUInt16BE(at + 2) : Number(buf.readBigUInt64BE(at + 2));
      at += hlen;
      this.left = this.length;
      const control = this.opcode >= Opcode.CLOSE;
      this.parts = control || this.wantPayload(this.opcode, this.length) ? [] : null;
      if (this.left === 0) this.finish();
    }
  }

  private finish(): void {
    const payload = this.parts ? (this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)) : null;
    this.parts = null;
    if (this.opcode === Opcode.PING) this.write(clientFrame(payload ?? Buffer.alloc(0), Opcode.PONG));
    else if (this.opcode === Opcode.CLOSE) {
      if (payload && payload.length >= 2) this.closeReason = `${payload.readUInt16BE(0)} ${payload.subarray(2).toString('utf8')}`;
      this.socket.end();
    }
    else if (this.opcode !== Opcode.PONG) this.onFrame(this.opcode, this.length, payload);
  }
}
