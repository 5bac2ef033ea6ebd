/** Counts the progress line shows. */
export interface ProgressCounts {
  readonly total: number;
  /** Files in a final state (finished, failed, canceled), including those done by an earlier run. */
  readonly done: number;
  readonly failed: number;
  readonly uploaded: number;
  readonly chunks: number;
  /** Files finished by earlier runs: excluded from the rate, so the ETA is not flattered. */
  readonly resumed: number;
}

const BAR_WIDTH = 24;

/**
 * The progress line: `[#####-----] 12/20 files · 340 chunks · 1 failed · ETA 5s`.
 * On a terminal it redraws one line; otherwise (pipes, CI logs, tests) it prints a
 * line whenever the figures change, so logs show every step.
 */
export class Progress {
  private readonly startedAt: number;
  private last = '';

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  update(c: ProgressCounts): void {
    const line = this.render(c);
    // A log gets a line only when a count changes, not each time the ETA ticks.
    const key = this.out.isTTY ? line : `${c.done}/${c.total}/${c.uploaded}/${c.failed}/${c.chunks}`;
    if (key === this.last) return;
    this.last = key;
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${line}`);
    else this.out.write(`${line}\n`);
  }

  /** Ends the redrawn line so later output starts on a fresh one. */
  finish(): void {
    if (this.out.isTTY && this.last) this.out.write('\n');
  }

  render(c: ProgressCounts): string {
    const ratio = c.total === 0 ? 1 : c.done / c.total;
    const filled = Math.round(ratio * BAR_WIDTH);
    const parts = [`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${c.done}/${c.total} files`, `${c.chunks} chunks`];
    if (c.uploaded < c.total) parts.push(`${c.uploaded}/${c.total} uploaded`);
    if (c.failed > 0) parts.push(`${c.failed} failed`);
    parts.push(`ETA ${this.eta(c)}`);
    return parts.join(' · ');
  }

  private eta(c: ProgressCounts): string {
    const remaining = c.total - c.done;
    if (remaining === 0) return '0s';
    const doneHere = c.done - c.resumed;
    const elapsed = (this.now() - this.startedAt) / 1000;
    if (doneHere <= 0 || elapsed <= 0) return '…';
    return formatSeconds((remaining * elapsed) / doneHere);
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.ceil(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
