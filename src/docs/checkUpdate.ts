import { isUtf8 } from 'node:buffer';
import * as Y from 'yjs';

/**
 * Reads a Yjs update (v1, what y-websocket sends) from start to end without building
 * it, and throws where `Y.decodeUpdate` would throw: every struct, every content, the
 * delete set, with each read checked against the end of the bytes (where lib0 would
 * read `undefined` past the end, this refuses). Accepting nothing Yjs refuses is the
 * point: a refused update never reaches the document, an accepted one applies.
 *
 * `Y.decodeUpdate` builds every Item and value only to drop them; under bench:docs that
 * was 8 % of a memory-mode server's CPU plus the garbage. This walk allocates only for
 * the rare legacy JSON contents. Sub-documents fall back to `Y.decodeUpdate` (reading one
 * constructs a Y.Doc, and its options decide whether that throws).
 */
export function checkUpdate(update: Uint8Array): void {
  const r = new UpdateReader(update);
  if (!r.structs(r.count())) {
    Y.decodeUpdate(update);
    return;
  }
  r.deleteSet(r.count());
}

/**
 * Where the parts of a checked update lie, for joining updates without Yjs (joinUpdates.ts).
 * v1 layout: a count of client sections, the sections; a count of delete-set clients, their ranges.
 */
export interface UpdateLayout {
  readonly bytes: Uint8Array;
  /** Client of each struct section, in order. */
  readonly clients: readonly number[];
  /** The struct sections, without their count. */
  readonly structsStart: number;
  readonly structsEnd: number;
  /** Clients in the delete set, and its entries without that count. */
  readonly deleteClients: number;
  readonly deletesStart: number;
  readonly deletesEnd: number;
}

/** The layout of an update that passed `checkUpdate`; null when it holds a sub-document (only Yjs reads those) or does not read. */
export function readLayout(update: Uint8Array): UpdateLayout | null {
  try {
    const r = new UpdateReader(update, []);
    const sections = r.count();
    const structsStart = r.at;
    if (!r.structs(sections)) return null;
    const structsEnd = r.at;
    const deleteClients = r.count();
    const deletesStart = r.at;
    r.deleteSet(deleteClients);
    return { bytes: update, clients: r.clients!, structsStart, structsEnd, deleteClients, deletesStart, deletesEnd: r.at };
  } catch {
    return null;
  }
}

/** Deeper `any` values are refused: lib0 reads them recursively and would overflow the stack first. */
const MAX_ANY_DEPTH = 1000;

/** Content refs of an Item (yjs `contentRefs`); GC (0) and Skip (10) are structs, not contents. */
const enum Content {
  Deleted = 1,
  Json = 2,
  Binary = 3,
  String = 4,
  Embed = 5,
  Format = 6,
  Type = 7,
  Any = 8,
  Doc = 9,
}

/** yjs `typeRefs`: XmlElement (3) and XmlHook (5) carry a name. */
const TYPE_REFS = 7;
const TYPE_XML_ELEMENT = 3;
const TYPE_XML_HOOK = 5;

/** lib0 `readAny` tags, 127 down to 116. */
const enum Any {
  Undefined = 127,
  Null = 126,
  Int = 125,
  Float32 = 124,
  Float64 = 123,
  BigInt64 = 122,
  False = 121,
  True = 120,
  String = 119,
  Object = 118,
  Array = 117,
  Bytes = 116,
}

const BIT6 = 32;
const BIT7 = 64;
const BIT8 = 128;
const BITS5 = 31;
const SKIP = 10;

const endOfUpdate = (): Error => new Error('Unexpected end of array');
/** lib0's decoder: legacy JSON contents are parsed as Yjs would, the rest is only checked. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class UpdateReader {
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    /** When given, collects the client of every struct section. */
    readonly clients: number[] | null = null,
  ) {}

  get at(): number {
    return this.pos;
  }

  /** A section count (of struct sections or delete-set clients). */
  count(): number {
    return this.varUint();
  }

  /** Reads `sections` struct sections; false when a content needs Yjs itself to read (a sub-document). */
  structs(sections: number): boolean {
    for (let i = 0; i < sections; i++) {
      const structs = this.varUint();
      const client = this.varUint();
      this.clients?.push(client);
      this.varUint(); // clock
      for (let j = 0; j < structs; j++) {
        const info = this.uint8();
        const ref = info & BITS5;
        if (ref === 0 || info === SKIP) {
          this.varUint(); // length of a GC or Skip struct
          continue;
        }
        if ((info & BIT8) !== 0) this.id(); // origin
        if ((info & BIT7) !== 0) this.id(); // right origin
        if ((info & (BIT7 | BIT8)) === 0) {
          if (this.varUint() === 1) this.string(); // parent: a root type's name…
          else this.id(); // …or the item that holds the type
          if ((info & BIT6) !== 0) this.string(); // key in a map
        }
        if (!this.content(ref)) return false;
      }
    }
    return true;
  }

  deleteSet(clients: number): void {
    for (let i = 0; i < clients; i++) {
      this.varUint(); // client
      const deletes = this.varUint();
      for (let j = 0; j < deletes; j++) {
        this.varUint(); // clock
        this.varUint(); // length
      }
    }
  }

  private content(ref: number): boolean {
    switch (ref) {
      case Content.Deleted:
        this.varUint();
        return true;
      case Content.Json:
        for (let n = this.varUint(); n > 0; n--) {
          const json = this.decodeString();
          if (json !== 'undefined') JSON.parse(json);
        }
        return true;
      case Content.Binary:
        this.bytesOf(this.varUint());
        return true;
      case Content.String:
        this.string();
        return true;
      case Content.Embed:
        JSON.parse(this.decodeString());
        return true;
      case Content.Format:
        this.string();
        JSON.parse(this.decodeString());
        return true;
      case Content.Type: {
        const type = this.varUint();
        if (type >= TYPE_REFS) throw new Error(`unknown type ref ${type}`);
        if (type === TYPE_XML_ELEMENT || type === TYPE_XML_HOOK) this.string();
        return true;
      }
      case Content.Any:
        for (let n = this.varUint(); n > 0; n--) this.any(0);
        return true;
      case Content.Doc:
        return false;
      default:
        throw new Error(`unknown content ref ${ref}`);
    }
  }

  private any(depth: number): void {
    if (depth > MAX_ANY_DEPTH) throw new Error('value nested too deeply');
    switch (this.uint8()) {
      case Any.Undefined:
      case Any.Null:
      case Any.False:
      case Any.True:
        return;
      case Any.Int:
        return this.varInt();
      case Any.Float32:
        this.bytesOf(4);
        return;
      case Any.Float64:
      case Any.BigInt64:
        this.bytesOf(8);
        return;
      case Any.String:
        return this.string();
      case Any.Object:
        for (let n = this.varUint(); n > 0; n--) {
          this.string();
          this.any(depth + 1);
        }
        return;
      case Any.Array:
        for (let n = this.varUint(); n > 0; n--) this.any(depth + 1);
        return;
      case Any.Bytes:
        this.bytesOf(this.varUint());
        return;
      default:
        throw new Error('unknown value type');
    }
  }

  private id(): void {
    this.varUint();
    this.varUint();
  }

  private uint8(): number {
    if (this.pos >= this.bytes.length) throw endOfUpdate();
    return this.bytes[this.pos++]!;
  }

  /** lib0 `readVarUint`: 7 bits a byte, refused past 2^53. */
  private varUint(): number {
    const bytes = this.bytes;
    let num = 0;
    let mult = 1;
    while (this.pos < bytes.length) {
      const b = bytes[this.pos++]!;
      num += (b & 0x7f) * mult;
      if (b < BIT8) return num;
      mult *= 128;
      if (num > Number.MAX_SAFE_INTEGER) throw new Error('Integer out of Range');
    }
    throw endOfUpdate();
  }

  /** lib0 `readVarInt`: sign and 6 bits in the first byte, then 7 a byte. */
  private varInt(): void {
    const first = this.uint8();
    if ((first & BIT8) === 0) return;
    let num = first & 0x3f;
    let mult = 64;
    while (this.pos < this.bytes.length) {
      const b = this.bytes[this.pos++]!;
      num += (b & 0x7f) * mult;
      if (b < BIT8) return;
      mult *= 128;
      if (num > Number.MAX_SAFE_INTEGER) throw new Error('Integer out of Range');
    }
    throw endOfUpdate();
  }

  /** Skips `n` bytes; returns where they start. */
  private bytesOf(n: number): number {
    const start = this.pos;
    if (n > this.bytes.length - start) throw endOfUpdate();
    this.pos += n;
    return start;
  }

  /** A length-prefixed string, checked as lib0's fatal UTF-8 decoder would, without decoding it. */
  private string(): void {
    const n = this.varUint();
    const start = this.bytesOf(n);
    const bytes = this.bytes;
    for (let i = start; i < start + n; i++) {
      if (bytes[i]! >= BIT8) {
        if (!isUtf8(bytes.subarray(start, start + n))) throw new TypeError('The encoded data was not valid for encoding utf-8');
        return;
      }
    }
  }

  private decodeString(): string {
    const n = this.varUint();
    const start = this.bytesOf(n);
    return utf8.decode(this.bytes.subarray(start, start + n));
  }
}
