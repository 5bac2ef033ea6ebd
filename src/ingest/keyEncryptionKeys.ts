import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A 256-bit key-encryption key and its public id (stored beside each sealed key, to pick the key on read). */
export interface Kek {
  readonly key: Buffer;
  readonly id: Buffer;
}

export interface KekRing {
  /** Encrypts every write. */
  readonly current: Kek;
  /** Tried on read, newest first; a key read with one of them is re-encrypted with `current`. */
  readonly previous: readonly Kek[];
  /** Where `current` came from, for the start-up log (never the value). */
  readonly source: 'config' | 'data-dir' | 'generated';
}

export const KEK_ID_BYTES = 8;

function kek(key: Buffer): Kek {
  return { key, id: createHash('sha256').update(key).digest().subarray(0, KEK_ID_BYTES) };
}

/** A configured secret (any string of ≥ 32 characters) → a 256-bit key. */
export function kekFromSecret(secret: string): Kek {
  return kek(Buffer.from(hkdfSync('sha256', secret, 'switchyard', 'embedding-key-encryption', 32)));
}

/** The key that sealed embedding keys before the key-encryption key existed (derived from the JWT secret). */
export function legacyKek(jwtSecret: string): Kek {
  return kek(createHash('sha256').update(`switchyard-embedding-keys:${jwtSecret}`).digest());
}

/**
 * The key ring of the embedding-key store. The current key is `ingest.keyEncryptionKey`
 * when set (keep it outside DATA_DIR: that is the point of a separate key), else a random
 * one kept in `DATA_DIR/.kek` (mode 0600, shared by the instances of one data dir).
 * Previous keys: `ingest.previousKeyEncryptionKeys`, then the legacy JWT-derived key,
 * so stores written before this key existed keep working and migrate on read.
 */
export function resolveKekRing(options: { dataDir: string; configured: string | null; previous: readonly string[]; jwtSecret: string }): KekRing {
  const previous = [...options.previous.map(kekFromSecret), legacyKek(options.jwtSecret)];
  if (options.configured) return { current: kekFromSecret(options.configured), previous, source: 'config' };
  const file = join(options.dataDir, '.kek');
  const read = (): Buffer | null => {
    try {
      const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
      return key.byteLength === 32 ? key : null;
    } catch {
      return null;
    }
  };
  const existing = read();
  if (existing) return { current: kek(existing), previous, source: 'data-dir' };
  mkdirSync(options.dataDir, { recursive: true });
  try {
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' }); // 'wx': another instance may win
  } catch {
    // written by another instance first: use theirs
  }
  const created = read();
  if (!created) throw new Error(`${file} does not hold a 32-byte base64url key`);
  return { current: kek(created), previous, source: 'generated' };
}
