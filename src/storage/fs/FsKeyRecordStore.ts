import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { KeyRecordStore } from '../ports.js';
import { assertBlobName } from '../blobs.js';

/**
 * Key records as files `<dataDir>/keys/<name>.key` (mode 0600, directory 0700) —
 * the layout ApiKeyStore has always used, so existing keys keep working.
 */
export class FsKeyRecordStore implements KeyRecordStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = resolve(dataDir, 'keys');
  }

  async put(name: string, sealed: Uint8Array): Promise<void> {
    assertBlobName(name);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const final = this.fileOf(name);
    const temp = `${final}.${randomBytes(4).toString('hex')}.part`;
    await writeFile(temp, sealed, { mode: 0o600 });
    await rename(temp, final);
  }

  async get(name: string): Promise<Uint8Array | null> {
    assertBlobName(name);
    try {
      return new Uint8Array(await readFile(this.fileOf(name)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(name: string): Promise<void> {
    assertBlobName(name);
    await rm(this.fileOf(name), { force: true });
  }

  private fileOf(name: string): string {
    return join(this.dir, `${name}.key`);
  }
}
