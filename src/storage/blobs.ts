import { ErrorCode } from '../errors.js';
import { StorageError } from './errors.js';

/**
 * Names of stored blobs (upload ids, key-record names) become file names and keys:
 * one rule for every adapter, so `../x` can never escape a directory.
 */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;

export function assertBlobName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
    throw new StorageError(ErrorCode.BAD_REQUEST, `invalid blob name ${JSON.stringify(name)}`);
  }
}

/**
 * The bytes as Buffers of exactly `pieceBytes` (the last one shorter). Slices of
 * one big input are views, not copies; only small stream chunks are gathered into
 * one piece, so at most one piece is buffered here at a time.
 */
export async function* pieces(bytes: Uint8Array | AsyncIterable<Uint8Array>, pieceBytes: number): AsyncGenerator<Buffer> {
  const source: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = bytes instanceof Uint8Array ? [bytes] : bytes;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (pendingBytes + buf.byteLength >= pieceBytes) {
      const take = pieceBytes - pendingBytes;
      pending.push(buf.subarray(0, take));
      yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, pieceBytes);
      pending = [];
      pendingBytes = 0;
      buf = buf.subarray(take);
    }
    if (buf.byteLength > 0) {
      // Copied: the producer may reuse its chunk's memory once we ask for the next one.
      pending.push(Buffer.from(buf));
      pendingBytes += buf.byteLength;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
