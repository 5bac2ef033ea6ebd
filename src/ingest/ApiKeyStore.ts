import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ErrorCode, SwitchyardError } from '../errors.js';
import type { KeyRecordStore } from '../storage/ports.js';
import { KEK_ID_BYTES, type Kek, type KekRing } from './keyEncryptionKeys.js';

/** Sealed format v2: version, key id, IV, ciphertext, GCM tag. */
const V2 = 0x02;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const V2_HEADER = 1 + KEK_ID_BYTES + IV_BYTES;

/** A stored key that none of the ring's keys opens (key-encryption key lost or changed, file tampered or moved). */
export class UnreadableApiKeyError extends SwitchyardError {
  constructor() {
    super(ErrorCode.EMBEDDING_KEY_UNREADABLE, 'the stored embedding API key cannot be decrypted (the key-encryption key changed?): set it again with PUT /api/embedding/key');
  }
}

/**
 * Per-user embedding API keys, kept out of job payloads and Redis: a job names the
 * user and the key is resolved here when the job runs. Kept in the storage's
 * KeyRecordStore (DATA_DIR/keys with SQLite, a table with PostgreSQL), names hashed,
 * AES-256-GCM with a
 * key-encryption key of its own (not the JWT secret) and the user id as associated
 * data — a file copied to another user's name does not open. Keys sealed with a
 * previous key of the ring (or the legacy JWT-derived key) are re-encrypted with the
 * current one on read. A server-wide key (EMBEDDING_API_KEY) is the fallback for users
 * without their own.
 */
export class ApiKeyStore {
  constructor(
    private readonly records: KeyRecordStore,
    private readonly ring: Pick<KekRing, 'current' | 'previous'>,
    private readonly serverKey: string | null,
    /** When set, `set` refuses with this message (a key-encryption key other instances cannot read). */
    private readonly options: { readonly refuseNewKeys: string | null } = { refuseNewKeys: null },
  ) {}

  /** Syntax only (no network): non-empty, printable, no whitespace, bounded. */
  static wellFormed(apiKey: unknown): apiKey is string {
    return typeof apiKey === 'string' && /^[\x21-\x7e]{1,512}$/.test(apiKey);
  }

  async set(userId: string, apiKey: string): Promise<void> {
    if (this.options.refuseNewKeys) throw new SwitchyardError(ErrorCode.BAD_REQUEST, this.options.refuseNewKeys);
    const { current } = this.ring;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv).setAAD(aadOf(userId));
    const sealed = Buffer.concat([Buffer.of(V2), current.id, iv, cipher.update(apiKey, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    await this.records.put(this.nameOf(userId), sealed); // atomic in both adapters: a reader never sees half a record
  }

  async remove(userId: string): Promise<void> {
    await this.records.delete(this.nameOf(userId));
  }

  /** The user's own key, else the server key, else null. Throws {@link UnreadableApiKeyError} when the stored key does not open. */
  async resolve(userId: string): Promise<string | null> {
    const record = await this.records.get(this.nameOf(userId));
    if (!record) return this.serverKey;
    const sealed = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
    const opened = this.open(sealed, userId);
    if (!opened) throw new UnreadableApiKeyError();
    if (!opened.current) await this.set(userId, opened.apiKey); // rotation: re-encrypt with the current key
    return opened.apiKey;
  }

  /** The plaintext and whether it was sealed in the current format with the current key. */
  private open(sealed: Buffer, userId: string): { apiKey: string; current: boolean } | null {
    const keys = [this.ring.current, ...this.ring.previous];
    if (sealed[0] === V2 && sealed.byteLength >= V2_HEADER + TAG_BYTES) {
      const id = sealed.subarray(1, 1 + KEK_ID_BYTES);
      const kek = keys.find((k) => k.id.equals(id));
      if (kek) {
        const apiKey = decrypt(kek, sealed.subarray(1 + KEK_ID_BYTES, V2_HEADER), sealed.subarray(V2_HEADER), aadOf(userId));
        return apiKey === null ? null : { apiKey, current: kek === this.ring.current };
      }
    }
    // Legacy format (before v2): IV, ciphertext, tag; no key id, no associated data.
    for (const kek of keys) {
      const apiKey = decrypt(kek, sealed.subarray(0, IV_BYTES), sealed.subarray(IV_BYTES), null);
      if (apiKey !== null) return { apiKey, current: false };
    }
    return null;
  }

  private nameOf(userId: string): string {
    return createHash('sha256').update(userId).digest('hex');
  }
}

function aadOf(userId: string): Buffer {
  return Buffer.from(`switchyard-embedding-key:v2:${userId}`, 'utf8');
}

/** The plaintext, or null when the key, the associated data or the bytes do not match. */
function decrypt(kek: Kek, iv: Buffer, body: Buffer, aad: Buffer | null): string | null {
  if (iv.byteLength !== IV_BYTES || body.byteLength < TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek.key, iv);
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.byteLength - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, body.byteLength - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
