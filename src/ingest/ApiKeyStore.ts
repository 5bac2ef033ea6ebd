import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Per-user embedding API keys, kept out of job payloads and Redis: a job names the
 * user and the key is resolved here when the job runs. Stored under
 * DATA_DIR/keys (shared by the instances of one machine), AES-256-GCM encrypted
 * with a key derived from the server secret, file names hashed. A server-wide key
 * (EMBEDDING_API_KEY) is the fallback for users without their own.
 */
export class ApiKeyStore {
  private readonly dir: string;
  private readonly key: Buffer;

  constructor(dataDir: string, secret: string, private readonly serverKey: string | null) {
    this.dir = join(dataDir, 'keys');
    this.key = createHash('sha256').update(`switchyard-embedding-keys:${secret}`).digest();
  }

  /** Syntax only (no network): non-empty, printable, no whitespace, bounded. */
  static wellFormed(apiKey: unknown): apiKey is string {
    return typeof apiKey === 'string' && /^[\x21-\x7e]{1,512}$/.test(apiKey);
  }

  async set(userId: string, apiKey: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([iv, cipher.update(apiKey, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    await writeFile(this.fileOf(userId), sealed, { mode: 0o600 });
  }

  async remove(userId: string): Promise<void> {
    await rm(this.fileOf(userId), { force: true });
  }

  /** The user's own key, else the server key, else null. */
  async resolve(userId: string): Promise<string | null> {
    let sealed: Buffer;
    try {
      sealed = await readFile(this.fileOf(userId));
    } catch {
      return this.serverKey;
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
  }

  private fileOf(userId: string): string {
    return join(this.dir, `${createHash('sha256').update(userId).digest('hex')}.key`);
  }
}
