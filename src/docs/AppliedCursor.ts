import { compareIds, LOG_START } from '../coordination/DocumentLog.js';

/**
 * Which document log id a replica's Y.Doc covers: every entry up to `id` is applied
 * (what a save records, and trims the log below). Deliveries from the log pass through
 * the actor's mailbox, so an entry counts only once its turn applied it. An own append
 * that the log acknowledged at once (`caughtUp`, the in-process log) advances it
 * directly, unless deliveries are still waiting in the mailbox: then it counts after them.
 */
export class AppliedCursor {
  private current: string;
  /** Deliveries handed to the mailbox and not yet applied. */
  private queued = 0;
  private caughtUpTo: string | null = null;

  constructor(start: string = LOG_START) {
    this.current = start;
  }

  get id(): string {
    return this.current;
  }

  /** A delivery went into the mailbox. */
  told(): void {
    this.queued += 1;
  }

  /** A delivery's turn ran; `lastId` is its last entry (undefined: it carried none). */
  applied(lastId: string | undefined): void {
    this.queued = Math.max(0, this.queued - 1);
    if (lastId !== undefined) this.current = lastId;
    if (this.queued === 0 && this.caughtUpTo !== null) {
      if (compareIds(this.caughtUpTo, this.current) > 0) this.current = this.caughtUpTo;
      this.caughtUpTo = null;
    }
  }

  /** Only own entries (already in the Y.Doc) were appended since the last delivery, up to `id`. */
  caughtUp(id: string): void {
    if (this.queued === 0) this.current = id;
    else this.caughtUpTo = id;
  }
}
