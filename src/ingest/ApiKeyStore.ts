import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { KeyRecordStore } from '../storage/ports.js';

/**
 * Per-user embedding API keys, kept out of job payloads and Redis: a job names the
 * user and the key is resolved here when the job runs. Kept in the storage's
 * KeyRecordStore (DATA_DIR/keys with SQLite, a table with PostgreSQL), AES-256-GCM
 * encrypted with a key derived from the server secret, names hashed. A server-wide key
 * (EMBEDDING_API_KEY) is the fallback for users without their own.
 */
export class ApiKeyStore {
  private readonly key: Buffer;

  constructor(private readonly records: KeyRecordStore, secret: string, private readonly serverKey: string | null) {
    this.key = createHash('sha256').update(`switchyard-embedding-keys:${secret}`).digest();
  }

  /** Syntax only (no network): non-empty, printable, no whitespace, bounded. */
  static wellFormed(apiKey: unknown): apiKey is string {
    return typeof apiKey === 'string' && /^[\x21-\x7e]{1,512}$/.test(apiKey);
  }

  async set(userId: string, apiKey: string): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([iv, cipher.update(apiKey, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    await this.records.put(this.nameOf(userId), sealed);
  }

  async remove(userId: string): Promise<void> {
    await this.records.delete(this.nameOf(userId));
  }

  /** The user's own key, else the server key, else null. */
  async resolve(userId: string): Promise<string | null> {
    const record = await this.records.get(this.nameOf(userId));
    if (!record) return this.serverKey;
    const sealed = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
  }

  private nameOf(userId: string): string {
    return createHash('sha256').update(userId).digest('hex');
  }
}
