/** Live counts across every document actor of this instance, read by the metrics. */
export class DocStats {
  loaded = 0;
  awareness = 0;
  readonly connections = new Map<string, number>();
  /** Bytes of frames told to each document's actor and not yet taken (the mailbox's byte bound). */
  readonly queuedBytes = new Map<string, number>();

  /** A queued frame was taken (or never made it into the mailbox). */
  dequeued(docId: string, bytes: number): void {
    const left = (this.queuedBytes.get(docId) ?? 0) - bytes;
    if (left > 0) this.queuedBytes.set(docId, left);
    else this.queuedBytes.delete(docId);
  }
}
