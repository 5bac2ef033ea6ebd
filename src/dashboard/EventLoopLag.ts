import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LagFigures {
  /** Mean delay over the last window, ms. */
  readonly meanMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const NS_PER_MS = 1e6;
const ZERO: LagFigures = Object.freeze({ meanMs: 0, p99Ms: 0, maxMs: 0 });

/**
 * Event-loop delay in windows: `rotate()` (called once per stats tick) closes the
 * current window, so the figures describe the last second rather than the whole
 * uptime — a stall an hour ago must not colour today's chart.
 */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram;
  private last: LagFigures = ZERO;

  constructor(private readonly resolutionMs = 10) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
  }

  rotate(): void {
    const h = this.histogram;
    // Node's samples are the time between its `resolution` timer firings, so an idle loop
    // reads ≈ resolutionMs: subtract it. An empty window (no samples) reports sentinels; keep zeros.
    const lag = (ns: number) => round(Math.max(0, ns / NS_PER_MS - this.resolutionMs));
    this.last = h.count > 0 ? { meanMs: lag(h.mean), p99Ms: lag(h.percentile(99)), maxMs: lag(h.max) } : ZERO;
    h.reset();
  }

  figures(): LagFigures {
    return this.last;
  }

  close(): void {
    this.histogram.disable();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
