/** One server-sent event. `event` is `message` unless the server named it. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

/**
 * An incremental text/event-stream parser (WHATWG HTML §9.2.6): feed it decoded
 * text as it arrives, in chunks cut anywhere, and it returns the events completed
 * so far. Lines end in LF, CR or CRLF; `data:` lines of one event are joined with
 * LF; comments (`:`) and unknown fields are ignored; an event without data is not
 * dispatched. Bounded: one event larger than `maxEventChars` throws, so a broken
 * upstream cannot grow the buffer without end.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private eventName = '';
  private lastId: string | undefined;
  private size = 0;
  /** A CR ended the previous chunk: an LF starting this one belongs to it. */
  private pendingCr = false;

  constructor(private readonly maxEventChars = 1 << 20) {}

  push(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i), out);
      if (c === 13) {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer.charCodeAt(i + 1) === 10) i += 1;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length + this.size > this.maxEventChars) throw new RangeError(`server-sent event larger than ${this.maxEventChars} characters`);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.eventName || 'message', data: this.data.join('\n'), ...(this.lastId !== undefined ? { id: this.lastId } : {}) });
      this.data = [];
      this.eventName = '';
      this.size = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.size += value.length;
    } else if (field === 'event') this.eventName = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
  }
}
