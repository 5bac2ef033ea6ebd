import { clientFrame, RawWs } from './RawWs.js';

/**
 * The wire protocol of each server under test, as the load generator speaks it.
 * switchyard and the bare uWS app share switchyard's JSON envelope (SPEC §4.2);
 * socket.io is Engine.IO v4 + Socket.IO v5 packets over a plain WebSocket
 * (`42["event",data]`, acks `42<id>[…]` → `43<id>[…]`, server ping `2` → pong `3`).
 */
export type DialectName = 'uws' | 'switchyard' | 'socketio';

export interface Dialect {
  /** Upgrade path (and query) for a socket authenticated with `token`. */
  path(token: string): string;
  /** After the 101: whatever the protocol needs before events flow. */
  ready(ws: RawWs, token: string): Promise<void>;
  /** A frame asking to join `room`, acknowledged with exactly one reply. */
  join(room: string): Buffer;
  /** The room broadcast: relayed by the server to every other member of `channel:<channelId>`. */
  broadcast(channelId: string, text: string): Buffer;
  /** An event acknowledged by exactly one reply (the latency probe). */
  probe(): Buffer;
  /** A server text frame that is protocol upkeep, not an event: answered here, not counted. */
  isUpkeep(ws: RawWs, length: number, payload: Buffer | null): boolean;
}

/** Resolves with the payload of the next non-upkeep text frame (acks during setup). */
export function nextFrame(ws: RawWs, dialect: Dialect, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    for (let early = ws.early.shift(); early; early = ws.early.shift()) {
      if (!dialect.isUpkeep(ws, early.length, early.payload)) return resolve(early.payload!.toString('utf8'));
    }
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    ws.wantPayload = () => true;
    ws.onFrame = (_op, length, payload) => {
      if (dialect.isUpkeep(ws, length, payload)) return;
      clearTimeout(timer);
      resolve(payload!.toString('utf8'));
    };
    ws.onClose = () => {
      clearTimeout(timer);
      reject(new Error('socket closed while waiting for a reply'));
    };
  });
}

const envelope: Dialect = {
  path: (token) => `/ws?token=${encodeURIComponent(token)}`,
  ready: async () => {},
  join: (room) => clientFrame(JSON.stringify({ event: 'join', data: { room }, ack: 1 })),
  broadcast: (channelId, text) => clientFrame(JSON.stringify({ event: 'events:channel', data: { channel_id: channelId, data: { text } } })),
  probe: () => clientFrame(JSON.stringify({ event: 'heartbeat', data: {}, ack: 2 })),
  isUpkeep: () => false,
};

const PING = 0x32; // '2'
const PONG = clientFrame('3');

const socketio: Dialect = {
  path: () => '/socket.io/?EIO=4&transport=websocket',
  async ready(ws, token) {
    const open = await nextFrame(ws, this);
    if (!open.startsWith('0')) throw new Error(`expected an Engine.IO open packet, got ${open.slice(0, 80)}`);
    const reply = nextFrame(ws, this);
    ws.sendText(`40${JSON.stringify({ token })}`);
    const connected = await reply;
    if (!connected.startsWith('40')) throw new Error(`socket.io connect refused: ${connected.slice(0, 200)}`);
  },
  join: (room) => clientFrame(`421${JSON.stringify(['join', { room }])}`),
  broadcast: (channelId, text) => clientFrame(`42${JSON.stringify(['events:channel', { channel_id: channelId, data: { text } }])}`),
  probe: () => clientFrame(`422${JSON.stringify(['heartbeat', {}])}`),
  isUpkeep(ws, length, payload) {
    if (length !== 1 || payload?.[0] !== PING) return false;
    ws.write(PONG);
    return true;
  },
};

export const DIALECTS: Record<DialectName, Dialect> = { uws: envelope, switchyard: envelope, socketio };

/** socket.io's ping is one byte: collect payloads of 1-byte frames only, so upkeep can be told apart cheaply. */
export const wantUpkeepPayload = (_opcode: number, length: number): boolean => length === 1;
