import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DialectName } from './dialects.js';
import type { Command, CountReply, ProbeReply, SendMode, SocketSpec } from './loadClient.js';
import { stopChild } from './servers.js';

/** One load-generator process (loadClient.ts), with request/reply over IPC. */
class LoadProcess {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: { seq: number; ok: boolean; result?: unknown; error?: string }) => {
      const w = this.waiting.get(msg.seq);
      this.waiting.delete(msg.seq);
      if (msg.ok) w?.resolve(msg.result);
      else w?.reject(new Error(msg.error));
    });
    child.once('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load client exited with ${code}`));
      this.waiting.clear();
    });
  }
  get pid(): number {
    return this.child.pid!;
  }
  call<T>(command: Command): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ seq, command });
    });
  }
}

/** Sums of every load process's counters; `sent` and `distinct` per publisher id. */
export type Counts = CountReply;

function sumRecords(a: Record<number, number>, b: Record<number, number>): Record<number, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[Number(k)] = (out[Number(k)] ?? 0) + v;
  return out;
}

/** The load generator: several processes, addressed as one. */
export class LoadPool {
  private readonly procs: LoadProcess[];

  constructor(size: number) {
    const script = fileURLToPath(new URL('./loadClient.js', import.meta.url));
    this.procs = Array.from({ length: size }, () => new LoadProcess(fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  }

  get size(): number {
    return this.procs.length;
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  /** Opens `perProcess[i]` in process i; throws naming the first failure if any socket failed. */
  async open(label: string, dialect: DialectName, perProcess: SocketSpec[][], payloadBytes: number): Promise<number> {
    const replies = await Promise.all(
      this.procs.map((p, i) =>
        p.call<{ opened: number; failed: number; retried: number; firstError?: string }>({
          cmd: 'open',
          dialect,
          host: '127.0.0.1',
          sockets: perProcess[i] ?? [],
          concurrency: 50,
          payloadBytes,
        }),
      ),
    );
    const failed = replies.reduce((n, r) => n + r.failed, 0);
    const retried = replies.reduce((n, r) => n + r.retried, 0);
    if (retried > 0) console.log(`note: ${label}: ${retried} sockets needed a second attempt to open`);
    if (failed > 0) throw new Error(`${label}: ${failed} sockets failed to open: ${replies.find((r) => r.firstError)?.firstError}`);
    return replies.reduce((n, r) => n + r.opened, 0);
  }

  async send(mode: SendMode, window: number): Promise<void> {
    await Promise.all(this.procs.map((p) => p.call({ cmd: 'send', mode, window })));
  }

  /** Stops the publishers; the counts as of then. */
  stopSend(): Promise<Counts> {
    return this.sum({ cmd: 'stopSend' });
  }

  counts(): Promise<Counts> {
    return this.sum({ cmd: 'count' });
  }

  /**
   * `ratePerSec` heartbeats in all, shared by the first `processes` processes (the ones the
   * probe sockets were opened in); every process's replies merged.
   */
  async probe(ratePerSec: number, durationMs: number, graceMs: number, processes = this.procs.length): Promise<ProbeReply> {
    const probing = this.procs.slice(0, processes);
    const replies = await Promise.all(probing.map((p) => p.call<ProbeReply>({ cmd: 'probe', ratePerSec: ratePerSec / probing.length, durationMs, graceMs })));
    return {
      rtts: replies.flatMap((r) => r.rtts),
      sentAt: replies.flatMap((r) => r.sentAt),
      sent: replies.reduce((n, r) => n + r.sent, 0),
      missing: replies.reduce((n, r) => n + r.missing, 0),
      failed: replies.reduce((n, r) => n + r.failed, 0),
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.call({ cmd: 'closeAll' })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => stopChild(p.child, 5_000)));
  }

  private async sum(command: Command): Promise<Counts> {
    const all = await Promise.all(this.procs.map((p) => p.call<CountReply>(command)));
    return all.reduce((a, b) => ({
      delivered: a.delivered + b.delivered,
      duplicated: a.duplicated + b.duplicated,
      distinct: sumRecords(a.distinct, b.distinct),
      closed: a.closed + b.closed,
      unexpected: a.unexpected + b.unexpected,
      sent: sumRecords(a.sent, b.sent),
    }));
  }
}
