import { clientFrame, RawWs } from './RawWs.js';

/**
 * The wire protocol of each server under test, as the load generator speaks it.
 * `envelope` is switchyard's JSON envelope (SPEC §4.2), spoken by switchyard's `/ws` and the
 * bare uWS app. `socketio` is Engine.IO v4 over a plain WebSocket + Socket.IO v5 packets
 * (`42["event",data]`, acks `42<id>[…]` → `43<id>[…]`, server ping `2` → pong `3`, connect
 * `40{auth}`), spoken by socket.io 4 at `/socket.io/` and by switchyard's dialect at `/ws/socket.io/`.
 */
export type DialectName = 'envelope' | 'socketio' | 'switchyard-socketio';

/** What a server text frame is, told from its first bytes only. */
export const FrameKind = { UPKEEP: 0, ACK: 1, EVENT: 2, OTHER: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Dialect {
  /** Upgrade path (and query) for a socket authenticated with `token`. */
  path(token: string): string;
  /** After the 101: whatever the protocol needs before events flow. */
  ready(ws: RawWs, token: string): Promise<void>;
  /** A frame asking to join `room`, acknowledged with exactly one reply. */
  join(room: string): Buffer;
  /** `events:channel` relayed by the server to every other member of `channel:<channelId>`; `acked` asks for an ack. */
  broadcast(channelId: string, text: string, acked: boolean): Buffer;
  /** `heartbeat` with ack id `id` (the latency probe). */
  heartbeat(id: number): Buffer;
  /** Classifies a server text frame; answers protocol upkeep (ping) itself. */
  kind(ws: RawWs, payload: Buffer): FrameKind;
  /** The ack id of an ACK frame. */
  ackId(payload: Buffer): number;
  /** Whether an ACK frame carries an error instead of data. */
  ackFailed(payload: Buffer): boolean;
}

/** Resolves with the payload of the next non-upkeep text frame (acks during setup). */
export function nextFrame(ws: RawWs, dialect: Dialect, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    for (let early = ws.early.shift(); early; early = ws.early.shift()) {
      if (early.payload && dialect.kind(ws, early.payload) !== FrameKind.UPKEEP) return resolve(early.payload.toString('utf8'));
    }
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    ws.wantPayload = () => true;
    ws.onFrame = (_op, _length, payload) => {
      if (!payload || dialect.kind(ws, payload) === FrameKind.UPKEEP) return;
      clearTimeout(timer);
      resolve(payload.toString('utf8'));
    };
    ws.onClose = () => {
      clearTimeout(timer);
      reject(new Error(`socket closed while waiting for a reply${ws.closeReason ? ` (close ${ws.closeReason})` : ''}`));
    };
  });
}

/** Digits of a non-negative integer starting at `at` (stops at the first non-digit). */
function digitsAt(payload: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < payload.length; i++) {
    const c = payload[i]! - 0x30;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

const ERROR = Buffer.from('"error"');
const A = 0x61; // '{"ack":…' — every other envelope frame the server sends starts with '{"event"'
const ACK_DIGITS = '{"ack":'.length;

const envelope: Dialect = {
  path: (token) => `/ws?token=${encodeURIComponent(token)}`,
  ready: async () => {},
  join: (room) => clientFrame(JSON.stringify({ event: 'join', data: { room }, ack: 1 })),
  broadcast: (channelId, text, acked) =>
    clientFrame(JSON.stringify({ event: 'events:channel', data: { channel_id: channelId, data: { text } }, ...(acked ? { ack: 1 } : {}) })),
  heartbeat: (id) => clientFrame(`{"event":"heartbeat","data":{},"ack":${id}}`),
  kind: (_ws, p) => (p[2] === A ? FrameKind.ACK : p[0] === 0x7b ? FrameKind.EVENT : FrameKind.OTHER),
  ackId: (p) => digitsAt(p, ACK_DIGITS),
  ackFailed: (p) => p.includes(ERROR),
};

const PING = 0x32; // '2'
const PONG = clientFrame('3');
const FOUR = 0x34;

function socketioDialect(prefix: string): Dialect {
  return {
    path: () => `${prefix}/?EIO=4&transport=websocket`,
    async ready(ws, token) {
      const open = await nextFrame(ws, this);
      if (!open.startsWith('0')) throw new Error(`expected an Engine.IO open packet, got ${open.slice(0, 80)}`);
      const reply = nextFrame(ws, this);
      ws.sendText(`40${JSON.stringify({ token })}`);
      const connected = await reply;
      if (!connected.startsWith('40')) throw new Error(`socket.io connect refused: ${connected.slice(0, 200)}`);
    },
    join: (room) => clientFrame(`421${JSON.stringify(['join', { room }])}`),
    broadcast: (channelId, text, acked) => clientFrame(`42${acked ? '1' : ''}${JSON.stringify(['events:channel', { channel_id: channelId, data: { text } }])}`),
    heartbeat: (id) => clientFrame(`42${id}["heartbeat",{}]`),
    kind(ws, p) {
      if (p.length === 1 && p[0] === PING) {
        ws.write(PONG);
        return FrameKind.UPKEEP;
      }
      if (p[0] !== FOUR) return FrameKind.OTHER;
      return p[1] === 0x33 ? FrameKind.ACK : p[1] === 0x32 ? FrameKind.EVENT : FrameKind.OTHER;
    },
    ackId: (p) => digitsAt(p, 2),
    ackFailed: (p) => p.includes(ERROR),
  };
}

export const DIALECTS: Record<DialectName, Dialect> = {
  envelope,
  socketio: socketioDialect('/socket.io'),
  'switchyard-socketio': socketioDialect('/ws/socket.io'),
};

/**
 * One probe: does `/ws/socket.io/` answer an Engine.IO websocket handshake with an open packet?
 * Resolves false on a refused upgrade, a close or silence, never throws.
 */
export async function answersEngineIo(host: string, port: number, timeoutMs = 3_000): Promise<boolean> {
  let ws: RawWs | null = null;
  try {
    ws = await RawWs.open({ host, port, path: DIALECTS['switchyard-socketio'].path(''), timeoutMs });
    const first = await nextFrame(ws, DIALECTS['switchyard-socketio'], timeoutMs);
    return first.startsWith('0{');
  } catch {
    return false;
  } finally {
    ws?.destroy();
  }
}
