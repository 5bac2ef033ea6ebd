import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode } from '../../errors.js';
import { StorageError } from '../errors.js';
import type { UploadStore } from '../ports.js';
import { assertBlobName, pieces } from '../blobs.js';

/** Write size of the file adapter: large enough for few syscalls, small enough to hold. */
const PIECE_BYTES = 1 << 20;

/**
 * Upload bytes as files under `<dataDir>/uploads/<id>` — the embedded layout, shared
 * by the instances of one machine. A put writes a temporary file and renames it,
 * so a reader never sees half an upload.
 */
export class FsUploadStore implements UploadStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = resolve(dataDir, 'uploads');
  }

  async put(id: string, bytes: Uint8Array | AsyncIterable<Uint8Array>): Promise<number> {
    assertBlobName(id);
    await mkdir(this.dir, { recursive: true });
    const final = join(this.dir, id);
    const temp = `${final}.${randomBytes(4).toString('hex')}.part`;
    let written = 0;
    try {
      await pipeline(
        async function* () {
          for await (const piece of pieces(bytes, PIECE_BYTES)) {
            written += piece.byteLength;
            yield piece;
          }
        },
        createWriteStream(temp),
      );
      await rename(temp, final);
    } catch (err) {
      await rm(temp, { force: true });
      throw new StorageError(ErrorCode.STORAGE_FAILED, `upload ${id} could not be stored: ${(err as Error).message}`, { cause: err });
    }
    return written;
  }

  async open(id: string): Promise<Readable> {
    assertBlobName(id);
    const path = join(this.dir, id);
    try {
      await stat(path);
    } catch {
      throw new StorageError(ErrorCode.NOT_FOUND, `no stored bytes for upload ${id}`);
    }
    return createReadStream(path);
  }

  localPath(id: string): string {
    assertBlobName(id);
    return join(this.dir, id);
  }

  async delete(id: string): Promise<void> {
    assertBlobName(id);
    await rm(join(this.dir, id), { force: true });
  }
}
