import { performance } from 'node:perf_hooks';
import { FrameKind, type Dialect } from './dialects.js';
import type { RawWs } from './RawWs.js';

export interface ProbeReply {
  /** Round trips in µs. */
  rtts: number[];
  /** When each of those heartbeats was sent, in ms from the probe's start (where in the run the slow ones were). */
  sentAt: number[];
  sent: number;
  /** Heartbeats whose ack never came within the grace period. */
  missing: number;
  /** Acks carrying an error, and frames that were no ack of a pending heartbeat. */
  failed: number;
}

/**
 * Open loop: `ratePerSec` heartbeats spread over this process's probe sockets, whatever the
 * replies do (a closed loop would slow down exactly when the server does and hide its tail).
 */
export function probeAcks(dialect: Dialect, probes: readonly RawWs[], ratePerSec: number, durationMs: number, graceMs: number): Promise<ProbeReply> {
  const pending = new Map<number, number>();
  const rtts: number[] = [];
  const sentAt: number[] = [];
  let failed = 0;
  let sent = 0;
  let id = 0;
  for (const ws of probes) {
    ws.onFrame = (_op, _length, payload) => {
      if (!payload) return;
      const kind = dialect.kind(ws, payload);
      if (kind === FrameKind.UPKEEP) return;
      const at = kind === FrameKind.ACK ? pending.get(dialect.ackId(payload)) : undefined;
      if (at === undefined) {
        failed += 1; // not an ack of a pending heartbeat
        return;
      }
      rtts.push(Math.round((performance.now() - at) * 1000));
      sentAt.push(Math.round(at - start));
      pending.delete(dialect.ackId(payload));
      if (dialect.ackFailed(payload)) failed += 1;
    };
  }
  const start = performance.now();
  return new Promise((resolve) => {
    if (probes.length === 0) return resolve({ rtts, sentAt, sent, missing: 0, failed });
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.floor(((Math.min(now, start + durationMs) - start) / 1000) * ratePerSec) - sent;
      for (let i = 0; i < due; i++) {
        const ws = probes[sent++ % probes.length]!;
        pending.set(++id, performance.now());
        ws.write(dialect.heartbeat(id));
      }
      if (now - start < durationMs) return;
      clearInterval(tick);
      const until = now + graceMs;
      const wait = setInterval(() => {
        if (pending.size > 0 && performance.now() < until) return;
        clearInterval(wait);
        resolve({ rtts, sentAt, sent, missing: pending.size, failed });
      }, 20);
    }, 1);
  });
}

