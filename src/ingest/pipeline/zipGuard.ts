import { createInflateRaw } from 'node:zlib';
import { ErrorCode } from '../../errors.js';
import { ExtractError } from './ExtractError.js';

/** One central-directory record: what the archive claims about an entry. */
interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

/** A DOCX has a few dozen entries; millions of tiny ones would cost memory before any check. */
export const MAX_ZIP_ENTRIES = 10_000;

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

/**
 * Refuses a zip (DOCX) bomb before any parser inflates it: first from the central
 * directory (the declared uncompressed sizes must sum to at most `maxInflatedBytes`),
 * then by inflating every entry into nothing but a byte count, stopping as soon as an
 * entry yields more than it declared — headers can lie, and mammoth (jszip) trusts
 * them. Since the parser later inflates the same streams, it can never hold more than
 * the limit. Memory stays at one inflate window, whatever the archive holds.
 */
export async function checkZipBomb(bytes: Uint8Array, name: string, maxInflatedBytes: number): Promise<void> {
  const entries = centralDirectory(bytes, name);
  const declared = entries.reduce((n, e) => n + e.uncompressedSize, 0);
  if (declared > maxInflatedBytes) {
    throw new ExtractError(ErrorCode.FILE_TOO_LARGE, `${name} inflates to ${declared} bytes; the limit is ${maxInflatedBytes} (ingest.maxInflatedBytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const entry of entries) {
    const at = entry.localHeaderOffset;
    if (at + 30 > bytes.byteLength || view.getUint32(at, true) !== LOCAL) throw corrupt(name, `entry ${entry.name} has no local header`);
    const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    const end = start + entry.compressedSize;
    if (end > bytes.byteLength) throw corrupt(name, `entry ${entry.name} runs past the end of the file`);
    const actual = entry.method === 0 ? entry.compressedSize : await inflatedSize(bytes.subarray(start, end), entry.uncompressedSize, name, entry.name);
    if (actual > entry.uncompressedSize) {
      throw new ExtractError(ErrorCode.FILE_TOO_LARGE, `${name}: entry ${entry.name} inflates past its declared ${entry.uncompressedSize} bytes (a zip bomb)`);
    }
  }
}

/** Inflated bytes of one deflate stream, counted and dropped; stops once past `limit` (returns a value > limit). */
function inflatedSize(data: Uint8Array, limit: number, name: string, entry: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const inflate = createInflateRaw({ chunkSize: 64 * 1024 });
    let total = 0;
    inflate.on('data', (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > limit) {
        inflate.destroy();
        resolve(total);
      }
    });
    inflate.on('end', () => resolve(total));
    inflate.on('error', (err) => reject(corrupt(name, `entry ${entry} does not inflate: ${err.message}`)));
    inflate.end(data);
  });
}

function corrupt(name: string, why: string): ExtractError {
  return new ExtractError(ErrorCode.FILE_CORRUPT, `${name} is not a readable DOCX (zip) document: ${why}`);
}

function centralDirectory(bytes: Uint8Array, name: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.byteLength - 22; i >= Math.max(0, bytes.byteLength - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt(name, 'no end of central directory');
  let count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  if ((count === 0xffff || offset === U32_MAX) && eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_LOCATOR) {
    const z = Number(view.getBigUint64(eocd - 12, true));
    if (z + 56 > bytes.byteLength || view.getUint32(z, true) !== ZIP64_EOCD) throw corrupt(name, 'bad zip64 end of central directory');
    count = Number(view.getBigUint64(z + 32, true));
    offset = Number(view.getBigUint64(z + 48, true));
  }
  if (count > MAX_ZIP_ENTRIES) throw new ExtractError(ErrorCode.FILE_TOO_LARGE, `${name} has ${count} zip entries; the limit is ${MAX_ZIP_ENTRIES}`);
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.byteLength || view.getUint32(at, true) !== CENTRAL) throw corrupt(name, 'truncated central directory');
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    if (at + 46 + nameLen + extraLen > bytes.byteLength) throw corrupt(name, 'truncated central directory');
    const entryName = Buffer.from(bytes.subarray(at + 46, at + 46 + nameLen)).toString('utf8');
    const sizes = {
      uncompressedSize: view.getUint32(at + 24, true),
      compressedSize: view.getUint32(at + 20, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    readZip64Extra(view, at + 46 + nameLen, extraLen, sizes);
    const method = view.getUint16(at + 10, true);
    if (method !== 0 && method !== 8) throw corrupt(name, `entry ${entryName} uses compression method ${method}`);
    entries.push({ name: entryName, method, ...sizes });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Zip64 keeps the real value of every field that reads 0xFFFFFFFF in extra field 0x0001, in this order. */
function readZip64Extra(view: DataView, start: number, length: number, sizes: { uncompressedSize: number; compressedSize: number; localHeaderOffset: number }): void {
  for (let p = start; p + 4 <= start + length; ) {
    const id = view.getUint16(p, true);
    const size = view.getUint16(p + 2, true);
    if (id === 0x0001) {
      let q = p + 4;
      for (const key of ['uncompressedSize', 'compressedSize', 'localHeaderOffset'] as const) {
        if (sizes[key] === U32_MAX && q + 8 <= p + 4 + size) {
          sizes[key] = Number(view.getBigUint64(q, true));
          q += 8;
        }
      }
      return;
    }
    p += 4 + size;
  }
}
