/**
 * One load-generator process of `bench:ws`, driven by the orchestrator over IPC.
 * Several of these run at once so the generator is not the bottleneck; each only
 * counts frames (no payload decoding) and writes pre-built frames.
 *
 * Broadcast pacing: a sender keeps at most `window` messages beyond what one
 * receiver of its room in this same process has seen. That bounds how far the
 * server can run ahead of its receivers (otherwise it would buffer without limit,
 * or close them as slow consumers) while keeping it saturated.
 */
import { performance } from 'node:perf_hooks';
import { DIALECTS, nextFrame, wantUpkeepPayload, type Dialect, type DialectName } from './dialects.js';
import { RawWs } from './RawWs.js';

export type SocketKind = 'idle' | 'receiver' | 'sender' | 'probe';

export interface SocketSpec {
  readonly token: string;
  readonly kind: SocketKind;
  /** Channel id (room `channel:<id>`) for receivers and senders. */
  readonly channel?: string;
  readonly localAddress?: string;
}

export type Command =
  | { cmd: 'open'; dialect: DialectName; host: string; port: number; sockets: SocketSpec[]; concurrency: number; payload: string }
  | { cmd: 'send'; window: number }
  | { cmd: 'stopSend' }
  | { cmd: 'count' }
  | { cmd: 'probe'; durationMs: number }
  | { cmd: 'closeAll' };

export interface CountReply {
  delivered: number;
  sent: number;
  closed: number;
  unexpected: number;
}

interface Room {
  /** Several senders per room take turns: one socket bursting many messages per read hits uWS's slow path. */
  readonly senders: RawWs[];
  turn: number;
  pace: { count: number } | null;
  frames: Buffer;
  frameLength: number;
  sent: number;
}

let dialect: Dialect;
const sockets: RawWs[] = [];
const rooms = new Map<string, Room>();
const probes: RawWs[] = [];
let delivered = 0;
let closed = 0;
let unexpected = 0;
let window = 0;
let sending = false;

function pump(room: Room): void {
  if (!sending || room.senders.length === 0 || !room.pace) return;
  let free = window - (room.sent - room.pace.count);
  // Refill in batches (fewer writes per delivery), a few frames per sender per write.
  if (free < Math.max(1, window >> 2)) return;
  room.sent += free;
  const share = Math.ceil(free / room.senders.length);
  while (free > 0) {
    const n = Math.min(share, free);
    room.senders[room.turn++ % room.senders.length]!.write(room.frames.subarray(0, n * room.frameLength));
    free -= n;
  }
}

async function openOne(spec: SocketSpec, host: string, port: number, payload: string): Promise<void> {
  const ws = await RawWs.open({ host, port, path: dialect.path(spec.token), localAddress: spec.localAddress });
  sockets.push(ws);
  try {
    await dialect.ready(ws, spec.token);
    if (spec.kind === 'receiver' || spec.kind === 'sender') {
      const reply = nextFrame(ws, dialect);
      ws.write(dialect.join(`channel:${spec.channel}`));
      const ack = await reply;
      if (ack.includes('"error"') || ack.startsWith('44')) throw new Error(`join refused: ${ack.slice(0, 200)}`);
    }
  } catch (err) {
    ws.destroy();
    throw err;
  }
  ws.onClose = () => {
    closed += 1;
  };
  ws.wantPayload = wantUpkeepPayload;
  if (spec.kind === 'receiver') {
    const room = roomOf(spec.channel!, payload);
    const counter = { count: 0 };
    room.pace ??= counter;
    ws.onFrame = (_op, length, data) => {
      if (dialect.isUpkeep(ws, length, data)) return;
      delivered += 1;
      counter.count += 1;
      if (room.pace === counter) pump(room);
    };
  } else {
    if (spec.kind === 'sender') roomOf(spec.channel!, payload).senders.push(ws);
    if (spec.kind === 'probe') probes.push(ws);
    // Senders get the other senders' messages (not counted: only receivers count deliveries);
    // idle sockets send nothing, so any event reaching them is unexpected.
    ws.onFrame = (_op, length, data) => {
      if (!dialect.isUpkeep(ws, length, data) && spec.kind !== 'sender') unexpected += 1;
    };
  }
}

function roomOf(channel: string, payload: string): Room {
  let room = rooms.get(channel);
  if (!room) {
    const frame = dialect.broadcast(channel, payload);
    room = { senders: [], turn: 0, pace: null, frames: frame, frameLength: frame.length, sent: 0 };
    rooms.set(channel, room);
  }
  return room;
}

async function open(c: Extract<Command, { cmd: 'open' }>): Promise<{ opened: number; failed: number; firstError?: string }> {
  dialect = DIALECTS[c.dialect];
  let next = 0;
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < c.sockets.length) {
      const spec = c.sockets[next++]!;
      try {
        await openOne(spec, c.host, c.port, c.payload);
        opened += 1;
      } catch (err) {
        failed += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  return { opened, failed, firstError };
}

function startSending(w: number): void {
  window = w;
  for (const room of rooms.values()) {
    if (room.senders.length === 0) continue;
    if (!room.pace) throw new Error('a sender needs a receiver of its room in the same process (pacing)');
    const frame = room.frames.subarray(0, room.frameLength);
    room.frames = Buffer.concat(Array.from({ length: w }, () => frame));
  }
  sending = true;
  for (const room of rooms.values()) pump(room);
}

function sentTotal(): number {
  let sent = 0;
  for (const room of rooms.values()) sent += room.sent;
  return sent;
}

/** Closed loop per probe socket: next probe as soon as its reply arrives; round trips in µs. */
function probe(durationMs: number): Promise<{ rtts: number[] }> {
  const rtts: number[] = [];
  const frame = dialect.probe();
  const until = performance.now() + durationMs;
  return new Promise((resolve) => {
    let running = probes.length;
    if (running === 0) resolve({ rtts });
    for (const ws of probes) {
      let sentAt = 0;
      const fire = () => {
        sentAt = performance.now();
        ws.write(frame);
      };
      ws.wantPayload = wantUpkeepPayload;
      ws.onFrame = (_op, length, data) => {
        if (dialect.isUpkeep(ws, length, data)) return;
        const now = performance.now();
        rtts.push(Math.round((now - sentAt) * 1000));
        if (now < until) fire();
        else if (--running === 0) resolve({ rtts });
      };
      fire();
    }
  });
}

async function closeAll(): Promise<void> {
  sending = false;
  const all = sockets.splice(0);
  await Promise.all(
    all.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.closed) return resolve();
          ws.onClose = () => resolve();
          ws.destroy();
        }),
    ),
  );
  rooms.clear();
  probes.length = 0;
  delivered = 0;
  closed = 0;
  unexpected = 0;
}

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'open':
      return open(c);
    case 'send':
      startSending(c.window);
      return {};
    case 'stopSend':
      sending = false;
      return { sent: sentTotal() };
    case 'count':
      return { delivered, sent: sentTotal(), closed, unexpected } satisfies CountReply;
    case 'probe':
      return probe(c.durationMs);
    case 'closeAll':
      await closeAll();
      return {};
  }
}

process.on('message', (msg: { seq: number; command: Command }) => {
  handle(msg.command).then(
    (result) => process.send!({ seq: msg.seq, ok: true, result }),
    (err: unknown) => process.send!({ seq: msg.seq, ok: false, error: (err as Error).message }),
  );
});
// The orchestrator gone (crash, kill): do not linger with thousands of sockets.
process.on('disconnect', () => process.exit(0));
