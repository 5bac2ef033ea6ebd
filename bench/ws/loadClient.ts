/**
 * One load-generator process of `bench:ws`, driven by the orchestrator over IPC.
 * Several of these run at once so the generator is not the bottleneck; each writes
 * pre-built frames and reads only the few bytes of a delivery that name it.
 *
 * Every broadcast carries a marker `~PPPPSSSSSSSS` (publisher id, sequence number): each
 * member counts what it got per (publisher, seq) (see Tally.ts), so a duplicate is an
 * error of its own and can never make up for a delivery lost on a closed socket.
 *
 * Latency: `probeAcks.ts` (open-loop heartbeats).
 *
 * Two send modes. `paced` (fire and forget): a room's senders keep at most `window`
 * messages beyond what one member of the room in this process has seen — that bounds how
 * far the server can run ahead of its receivers while keeping it saturated. `acked`: each
 * publisher keeps `window` acknowledged `events:channel` in flight, every ack returns a slot.
 */
import { DIALECTS, FrameKind, nextFrame, type Dialect, type DialectName } from './dialects.js';
import { probeAcks } from './probeAcks.js';
import { RawWs } from './RawWs.js';
import { MARK_BYTES, markedPayload, Tally, type SocketTally, type TallyCounts, writeMark } from './Tally.js';

export type SocketKind = 'idle' | 'member' | 'publisher' | 'probe';

export interface SocketSpec {
  readonly token: string;
  readonly kind: SocketKind;
  /** Channel id (room `channel:<id>`) for members and publishers. */
  readonly channel?: string;
  /** Publisher id, unique in the run, for publishers. */
  readonly publisher?: number;
  /** Server port for this socket (cluster rows split a room across two servers). */
  readonly port: number;
  readonly localAddress?: string;
}

export type SendMode = 'paced' | 'acked';

export type { ProbeReply } from './probeAcks.js';

export type Command =
  | { cmd: 'open'; dialect: DialectName; host: string; sockets: SocketSpec[]; concurrency: number; payloadBytes: number }
  | { cmd: 'send'; mode: SendMode; window: number }
  | { cmd: 'stopSend' }
  | { cmd: 'count' }
  | { cmd: 'probe'; ratePerSec: number; durationMs: number; graceMs: number }
  | { cmd: 'closeAll' };

export interface CountReply extends TallyCounts {
  closed: number;
  /** Events on sockets that should get none, unreadable frames, failed acks. */
  unexpected: number;
  /** Frames written per publisher id. */
  sent: Record<number, number>;
}


interface Publisher {
  readonly id: number;
  readonly ws: RawWs;
  seq: number;
  /** Acks received since the last refill (acked mode). */
  owed: number;
  /** One frame with the marker's digits at `markAt`, copied per message; one of `variants`. */
  template: Buffer;
  markAt: number;
  readonly variants: Record<SendMode, { template: Buffer; markAt: number }>;
}

interface Room {
  /** Several senders per room take turns: one socket bursting many messages per read hits uWS's slow path. */
  readonly publishers: Publisher[];
  turn: number;
  pace: { count: number } | null;
  /** Frames written, all publishers of the room (paced mode). */
  sent: number;
}

let dialect: Dialect;
const sockets: RawWs[] = [];
const rooms = new Map<string, Room>();
const publishers: Publisher[] = [];
const probes: RawWs[] = [];
const tally = new Tally();
let closed = 0;
let unexpected = 0;
let window = 0;
let mode: SendMode = 'paced';
let sending = false;

/** `n` consecutive messages of `p` in one buffer (one write). */
function frames(p: Publisher, n: number): Buffer {
  const len = p.template.length;
  const out = Buffer.allocUnsafe(n * len);
  for (let i = 0; i < n; i++) {
    p.template.copy(out, i * len);
    writeMark(out, i * len + p.markAt, p.id, p.seq++);
  }
  return out;
}

function pump(room: Room): void {
  if (!sending || mode !== 'paced' || room.publishers.length === 0 || !room.pace) return;
  let free = window - (room.sent - room.pace.count);
  // Refill in batches (fewer writes per delivery), a few frames per sender per write.
  if (free < Math.max(1, window >> 2)) return;
  room.sent += free;
  const share = Math.ceil(free / room.publishers.length);
  while (free > 0) {
    const n = Math.min(share, free);
    const p = room.publishers[room.turn++ % room.publishers.length]!;
    p.ws.write(frames(p, n));
    free -= n;
  }
}

/** Counts a relayed frame on a room member (`seen`), or as unexpected on a socket in no room. */
function countFrame(ws: RawWs, payload: Buffer, seen: SocketTally | null): void {
  const kind = dialect.kind(ws, payload);
  if (kind === FrameKind.UPKEEP) return;
  if (kind !== FrameKind.EVENT || !seen || !seen.record(payload)) unexpected += 1;
}

async function openOne(spec: SocketSpec, host: string, payloadBytes: number): Promise<void> {
  const ws = await RawWs.open({ host, port: spec.port, path: dialect.path(spec.token), localAddress: spec.localAddress });
  sockets.push(ws);
  try {
    await dialect.ready(ws, spec.token);
    if (spec.kind === 'member' || spec.kind === 'publisher') {
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
  ws.wantPayload = () => true;
  if (spec.kind === 'member' || spec.kind === 'publisher') {
    const room = roomOf(spec.channel!);
    const counter = { count: 0 };
    if (spec.kind === 'member') room.pace ??= counter;
    const publisher = spec.kind === 'publisher' ? addPublisher(room, ws, spec, payloadBytes) : null;
    const seen = tally.socket(publisher?.id);
    ws.onFrame = (_op, _length, payload) => {
      if (!payload) return;
      if (publisher && dialect.kind(ws, payload) === FrameKind.ACK) return onAck(publisher, payload);
      countFrame(ws, payload, seen);
      counter.count += 1;
      if (room.pace === counter) pump(room);
    };
  } else {
    if (spec.kind === 'probe') probes.push(ws);
    // Idle sockets and probes are in no room: any event reaching them is unexpected.
    ws.onFrame = (_op, _length, payload) => payload && countFrame(ws, payload, null);
  }
}

function addPublisher(room: Room, ws: RawWs, spec: SocketSpec, payloadBytes: number): Publisher {
  const variant = (acked: boolean) => {
    const template = dialect.broadcast(spec.channel!, markedPayload(payloadBytes), acked);
    return { template, markAt: template.indexOf(MARK_BYTES) };
  };
  // A paced frame must not ask for an ack: nobody would wait for it, and the server's ack work would be measured.
  const variants = { paced: variant(false), acked: variant(true) };
  const p: Publisher = { id: spec.publisher!, ws, seq: 0, owed: 0, variants, ...variants.paced };
  room.publishers.push(p);
  publishers.push(p);
  return p;
}

/**
 * An ack returns its slot; the slots freed by one read go out in one write (after the read is
 * walked), as a client with a window does — one write per ack would make every relay a
 * separate send to every member, a cost of the load shape rather than of the server.
 */
function onAck(p: Publisher, payload: Buffer): void {
  if (dialect.ackFailed(payload)) unexpected += 1;
  if (!sending || mode !== 'acked') return;
  if (p.owed++ === 0) queueMicrotask(() => refill(p));
}

function refill(p: Publisher): void {
  const n = p.owed;
  p.owed = 0;
  if (sending && n > 0) p.ws.write(frames(p, n));
}

function roomOf(channel: string): Room {
  let room = rooms.get(channel);
  if (!room) {
    room = { publishers: [], turn: 0, pace: null, sent: 0 };
    rooms.set(channel, room);
  }
  return room;
}

/**
 * Opens the sockets, `concurrency` at a time. A socket whose setup fails is tried once more
 * (setup only, before anything is measured; the retries are reported): rarely, under
 * `--cpu-prof` on a loaded box, one of the first connections to a fresh server is dropped.
 */
async function open(c: Extract<Command, { cmd: 'open' }>): Promise<{ opened: number; failed: number; retried: number; firstError?: string }> {
  dialect = DIALECTS[c.dialect];
  let next = 0;
  let opened = 0;
  let failed = 0;
  let retried = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < c.sockets.length) {
      const index = next++;
      const spec = c.sockets[index]!;
      for (let attempt = 1; ; attempt++) {
        try {
          await openOne(spec, c.host, c.payloadBytes);
          opened += 1;
          break;
        } catch (err) {
          if (attempt === 1) {
            retried += 1;
            continue;
          }
          failed += 1;
          firstError ??= `${spec.kind} socket #${index}: ${(err as Error).message}`;
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  return { opened, failed, retried, firstError };
}

function startSending(m: SendMode, w: number): void {
  mode = m;
  window = w;
  for (const p of publishers) Object.assign(p, p.variants[m]);
  for (const room of rooms.values()) {
    if (m === 'paced' && room.publishers.length > 0 && !room.pace) throw new Error('a paced sender needs a member of its room in the same process');
  }
  sending = true;
  if (m === 'paced') for (const room of rooms.values()) pump(room);
  else for (const p of publishers) p.ws.write(frames(p, w));
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
  publishers.length = 0;
  probes.length = 0;
  tally.reset();
  closed = 0;
  unexpected = 0;
}

function count(): CountReply {
  const sent: Record<number, number> = {};
  for (const p of publishers) sent[p.id] = p.seq;
  return { ...tally.counts(), closed, unexpected, sent };
}

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'open':
      return open(c);
    case 'send':
      startSending(c.mode, c.window);
      return {};
    case 'stopSend':
      sending = false;
      return count();
    case 'count':
      return count();
    case 'probe':
      return probeAcks(dialect, probes, c.ratePerSec, c.durationMs, c.graceMs);
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
