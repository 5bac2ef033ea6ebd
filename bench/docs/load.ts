/**
 * A bench:docs load process (forked by docs.bench.ts; request/reply over IPC): stock
 * clients — y-websocket's `WebsocketProvider` for switchyard and y-websocket's server,
 * `HocuspocusProvider` for Hocuspocus — each editing its own key of one shared Y.Map.
 *
 * An edit is `map.set(<client>, {p: phase, s: seq, t: [send times of the last 4 edits]})`:
 * an overwrite, so a document stays small however long the run (the old value is GC'd),
 * and a replica that receives two edits of one client merged into one update (switchyard
 * coalesces per event-loop turn) still learns both send times from `t`. Every OTHER
 * client of the document measures now − t when it observes the change. All clients of a
 * document live in one process, so their clocks agree.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { Histogram, type HistogramData } from '../lib/histogram.js';
import { serveRpc } from '../lib/rpc.js';

export type ClientKind = 'yjs-websocket' | 'hocuspocus';

export type LoadRequest =
  | {
      readonly op: 'open';
      readonly client: ClientKind;
      /** Server URLs; the clients of every document are spread round-robin over them. */
      readonly endpoints: readonly string[];
      readonly docs: readonly string[];
      readonly clientsPerDoc: number;
      readonly token: string;
    }
  | { readonly op: 'run'; readonly intervalMs: number; readonly durationMs: number; readonly drainMs: number }
  | { readonly op: 'converge'; readonly timeoutMs: number }
  | { readonly op: 'close' };

export interface PhaseReport {
  readonly sent: number;
  /** sent × (clients of the document − 1): every other replica must see every edit. */
  readonly expected: number;
  /** Edits of this phase observed by another replica before the drain ended. */
  readonly delivered: number;
  readonly histogram: HistogramData;
  /** Sockets closed by the server (or lost) during the phase; the providers reconnect. */
  readonly disconnects: number;
}

export interface ConvergeReport {
  readonly docs: number;
  /** Documents whose replicas still differ (state vector or map content) after the timeout. */
  readonly divergent: number;
  /** Per divergent document: its replicas grouped by state, with the server each one uses — a split by server points at replication. */
  readonly details: string[];
}

// y-websocket's provider adds a process 'exit' listener per instance; 100 per process is by design here.
process.setMaxListeners(0);

const HISTORY = 4;
const SYNC_TIMEOUT_MS = 60_000;
const now = () => performance.timeOrigin + performance.now();

interface Edit {
  readonly p: number;
  readonly s: number;
  readonly t: number[];
}

class Replica {
  readonly doc = new Y.Doc();
  readonly map = this.doc.getMap<Edit>('edits');
  private readonly destroyProvider: () => void;
  private readonly isSynced: () => boolean;
  private seq = 0;
  private times: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Last seq seen per other client, this phase. */
  private seen = new Map<string, number>();

  constructor(
    readonly key: string,
    kind: ClientKind,
    readonly url: string,
    readonly docId: string,
    token: string,
    private readonly stats: Stats,
  ) {
    if (kind === 'hocuspocus') {
      const config = { url, name: docId, document: this.doc, token, WebSocketPolyfill: WebSocket };
      const provider = new HocuspocusProvider(config as ConstructorParameters<typeof HocuspocusProvider>[0]);
      provider.on('disconnect', () => stats.disconnects++);
      this.destroyProvider = () => provider.destroy();
      this.isSynced = () => provider.synced;
    } else {
      const provider = new WebsocketProvider(url, docId, this.doc, {
        params: { token },
        WebSocketPolyfill: WebSocket as never,
        disableBc: true, // through the server, not a same-process BroadcastChannel
      });
      provider.on('connection-close', () => stats.disconnects++);
      this.destroyProvider = () => provider.destroy();
      this.isSynced = () => provider.synced;
    }
    this.map.observe((event, txn) => {
      if (txn.local) return;
      for (const other of event.keysChanged) this.observe(other);
    });
  }

  get synced(): boolean {
    return this.isSynced();
  }

  private observe(other: string): void {
    const edit = this.map.get(other);
    if (!edit || edit.p !== this.stats.phase) return; // a late edit of an earlier phase: counted missing there
    const last = this.seen.get(other) ?? 0;
    if (edit.s <= last) return;
    this.seen.set(other, edit.s);
    const at = now();
    const fresh = edit.s - last;
    this.stats.delivered += fresh;
    // Older edits beyond the history are at least as late as the oldest one known.
    for (let k = 0; k < fresh; k++) this.stats.histogram.record(at - edit.t[Math.min(k, edit.t.length - 1)]!);
  }

  start(intervalMs: number): void {
    this.seq = 0;
    this.times = [];
    this.seen = new Map();
    const edit = () => {
      this.times = [now(), ...this.times.slice(0, HISTORY - 1)];
      this.seq++;
      this.stats.sent++;
      this.map.set(this.key, { p: this.stats.phase, s: this.seq, t: this.times });
    };
    // Spread over the interval: 200 clients editing in the same millisecond is not the shape measured.
    this.timer = setTimeout(() => {
      edit();
      this.timer = setInterval(edit, intervalMs);
    }, Math.random() * intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer); // clears an interval too
    this.timer = null;
  }

  /** State vector and content, comparable across replicas. */
  fingerprint(): string {
    const sv = Buffer.from(Y.encodeStateVector(this.doc)).toString('base64');
    const content = Object.entries(this.map.toJSON()).sort(([a], [b]) => (a < b ? -1 : 1));
    return `${sv}|${JSON.stringify(content)}`;
  }

  destroy(): void {
    this.stop();
    this.destroyProvider();
    this.doc.destroy();
  }
}

interface Stats {
  phase: number;
  sent: number;
  delivered: number;
  disconnects: number;
  readonly histogram: Histogram;
}

const stats: Stats = { phase: 0, sent: 0, delivered: 0, disconnects: 0, histogram: new Histogram() };
let byDoc: Replica[][] = [];

async function open(r: Extract<LoadRequest, { op: 'open' }>): Promise<number> {
  let n = 0;
  byDoc = r.docs.map((docId) =>
    Array.from({ length: r.clientsPerDoc }, (_, i) => new Replica(`c${i}`, r.client, r.endpoints[n++ % r.endpoints.length]!, docId, r.token, stats)),
  );
  const all = byDoc.flat();
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (!all.every((c) => c.synced)) {
    if (Date.now() > deadline) throw new Error(`${all.filter((c) => !c.synced).length} of ${all.length} clients not synced after ${SYNC_TIMEOUT_MS} ms`);
    await sleep(50);
  }
  return all.length;
}

async function run(r: Extract<LoadRequest, { op: 'run' }>): Promise<PhaseReport> {
  stats.phase++;
  stats.sent = 0;
  stats.delivered = 0;
  stats.disconnects = 0;
  stats.histogram.reset();
  for (const c of byDoc.flat()) c.start(r.intervalMs);
  await sleep(r.durationMs);
  for (const c of byDoc.flat()) c.stop();
  const perEdit = (byDoc[0]?.length ?? 1) - 1;
  const deadline = Date.now() + r.drainMs;
  while (stats.delivered < stats.sent * perEdit && Date.now() < deadline) await sleep(20);
  return { sent: stats.sent, expected: stats.sent * perEdit, delivered: stats.delivered, histogram: stats.histogram.toData(), disconnects: stats.disconnects };
}

async function converge(timeoutMs: number): Promise<ConvergeReport> {
  const deadline = Date.now() + timeoutMs;
  const divergent = () => byDoc.filter((replicas) => new Set(replicas.map((c) => c.fingerprint())).size > 1).length;
  let d = divergent();
  while (d > 0 && Date.now() < deadline) {
    await sleep(100);
    d = divergent();
  }
  const details = byDoc
    .filter((replicas) => new Set(replicas.map((c) => c.fingerprint())).size > 1)
    .map((replicas) => {
      const groups = new Map<string, string[]>();
      for (const c of replicas) groups.set(c.fingerprint(), [...(groups.get(c.fingerprint()) ?? []), `${c.key}@${c.url}`]);
      return `${replicas[0]!.docId}: ${[...groups.values()].map((g) => `[${g.join(' ')}]`).join(' vs ')}`;
    });
  return { docs: byDoc.length, divergent: d, details };
}

serveRpc<LoadRequest>(async (r) => {
  switch (r.op) {
    case 'open':
      return open(r);
    case 'run':
      return run(r);
    case 'converge':
      return converge(r.timeoutMs);
    case 'close':
      for (const c of byDoc.flat()) c.destroy();
      byDoc = [];
      return null;
  }
});
