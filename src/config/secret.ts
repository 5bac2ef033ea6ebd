import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './schema.js';

export interface ResolvedSecret {
  readonly secret: string;
  /** Where it came from, for the start-up log line (never the value). */
  readonly source: 'config' | 'generated' | 'data-dir';
}

/**
 * The JWT secret: JWT_SECRET / WEBUI_SECRET_KEY when set; otherwise a random one kept
 * in `<DATA_DIR>/.jwt_secret` (mode 0600) so restarts, cluster instances sharing the
 * data dir and `npm run token` all agree — as the original system's key file did.
 */
export function resolveJwtSecret(config: Config): ResolvedSecret {
  if (config.jwtSecret) return { secret: config.jwtSecret, source: 'config' };
  const file = join(config.dataDir, '.jwt_secret');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 16) return { secret: existing, source: 'data-dir' };
  } catch {
    // not there yet: generate below
  }
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  // 'wx' fails if another instance wrote it first; then read theirs.
  try {
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return { secret, source: 'generated' };
  } catch {
    return { secret: readFileSync(file, 'utf8').trim(), source: 'data-dir' };
  }
}
