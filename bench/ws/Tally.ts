/**
 * Loss and duplicate accounting for the relay phases. Each broadcast's text carries
 * `~PPPPSSSSSSSS` (publisher id, sequence number, fixed-width decimal so a frame template
 * can be rewritten in place). A receiving socket remembers which (publisher, seq) it has seen
 * in one bit each: a second copy is a duplicate, counted apart from the distinct deliveries,
 * so extra deliveries can never cancel out the ones a closed socket missed.
 */

const MARK = 0x7e; // '~': never escaped by JSON, absent from the rest of every frame
export const MARK_BYTES = Buffer.from([MARK]);
const PUB_DIGITS = 4;
const SEQ_DIGITS = 8;
const MARK_LEN = 1 + PUB_DIGITS + SEQ_DIGITS;

/** A payload text of exactly `bytes` bytes (at least the marker) holding a zeroed marker. */
export function markedPayload(bytes: number): string {
  return `~${'0'.repeat(PUB_DIGITS + SEQ_DIGITS)}`.padEnd(Math.max(bytes, MARK_LEN), 'x');
}

/** Writes publisher `pub` and sequence `seq` into the marker that starts at `at`. */
export function writeMark(buf: Buffer, at: number, pub: number, seq: number): void {
  writeDigits(buf, at + 1, PUB_DIGITS, pub);
  writeDigits(buf, at + 1 + PUB_DIGITS, SEQ_DIGITS, seq);
}

function writeDigits(buf: Buffer, at: number, width: number, n: number): void {
  for (let i = at + width - 1; i >= at; i--) {
    buf[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
}

function readDigits(buf: Buffer, at: number, width: number): number {
  let n = 0;
  for (let i = at; i < at + width; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

export interface TallyCounts {
  /** Every relayed frame that carried a readable marker, duplicates included. */
  delivered: number;
  /** Copies of a (publisher, seq) a socket had already received. */
  duplicated: number;
  /** Distinct (socket, seq) deliveries per publisher id. */
  distinct: Record<number, number>;
}

/** The seen-bits of one receiving socket, per publisher id. */
export class SocketTally {
  private readonly seen: Uint8Array[] = [];
  /** `own`: the socket's own publisher id — the server must not echo a publisher's frames back to it. */
  constructor(
    private readonly totals: Tally,
    private readonly own: number,
  ) {}

  /** False when the frame carries no readable marker, or is the socket's own message echoed back. */
  record(payload: Buffer): boolean {
    const at = payload.indexOf(MARK);
    if (at < 0 || at + MARK_LEN > payload.length) return false;
    const pub = readDigits(payload, at + 1, PUB_DIGITS);
    const seq = readDigits(payload, at + 1 + PUB_DIGITS, SEQ_DIGITS);
    if (pub < 0 || seq < 0 || pub === this.own) return false;
    let bits = this.seen[pub];
    const byte = seq >> 3;
    if (!bits || bits.length <= byte) {
      const grown = new Uint8Array(Math.max(1024, (byte + 1) * 2));
      if (bits) grown.set(bits);
      bits = this.seen[pub] = grown;
    }
    const mask = 1 << (seq & 7);
    this.totals.delivered += 1;
    if (bits[byte]! & mask) this.totals.duplicated += 1;
    else {
      bits[byte] = bits[byte]! | mask;
      this.totals.distinct[pub] = (this.totals.distinct[pub] ?? 0) + 1;
    }
    return true;
  }
}

/** Totals over every socket of one load process. */
export class Tally {
  delivered = 0;
  duplicated = 0;
  distinct: Record<number, number> = {};

  socket(ownPublisher = -1): SocketTally {
    return new SocketTally(this, ownPublisher);
  }

  counts(): TallyCounts {
    return { delivered: this.delivered, duplicated: this.duplicated, distinct: { ...this.distinct } };
  }

  reset(): void {
    this.delivered = 0;
    this.duplicated = 0;
    this.distinct = {};
  }
}
