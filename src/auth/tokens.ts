import { createHmac, timingSafeEqual, webcrypto } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Role } from '../coordination/ports.js';

/** Who is calling, from a verified token. */
export interface Principal {
  readonly userId: string;
  readonly name: string;
  readonly role: Role;
}

export type VerifyResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: 'missing' | 'expired' | 'invalid' };

/**
 * HS256 tokens with claims sub, name, role, exp (SPEC §4.1). Tokens of the original
 * system (user id in claim `id`, no role or name, `exp` usually set) are accepted too:
 * `id` stands for `sub`, the role is `user`, the name is the id.
 *
 * Signing uses jose. Verifying is the one algorithm, done synchronously with node:crypto
 * (`verifyHs256` below, jose's checks for this case): jose's WebCrypto verify ran each
 * HMAC as a thread-pool job behind several promises, and at a burst of socket upgrades
 * that garbage was promoted and the pool threads' allocator arenas grew (bench:ws' idle
 * phase, RSS per socket).
 */
export class TokenService {
  /**
   * Imported once: given the raw bytes, jose imports a WebCrypto key on every verify,
   * and at a burst of socket upgrades those keys were ~1 KB of promoted garbage per
   * socket (sampling heap profile of bench:ws' idle phase).
   */
  private readonly key: Promise<webcrypto.CryptoKey>;
  private readonly secret: Buffer;
  /**
   * `exp` (epoch ms) of the token each verified principal came from. Kept beside the
   * principal, not in it, so the Principal shape stays what every module compares;
   * sockets look it up to close when their token expires (issue 13 #12).
   */
  private readonly expiry = new WeakMap<Principal, number>();
  constructor(secret: string) {
    this.secret = Buffer.from(secret, 'utf8');
    this.key = webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    this.key.catch(() => {}); // a key that cannot be imported fails each sign and verify instead
  }

  async sign(p: { sub: string; name?: string; role?: Role; ttlSeconds?: number }): Promise<string> {
    return new SignJWT({ name: p.name ?? p.sub, role: p.role ?? 'user' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(p.sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (p.ttlSeconds ?? 3600))
      .sign(await this.key);
  }

  /** When the token `principal` was verified from expires (epoch ms); null for a token without `exp` or a principal not made by verify. */
  expiresAt(principal: Principal): number | null {
    return this.expiry.get(principal) ?? null;
  }

  async verify(token: string | null | undefined): Promise<VerifyResult> {
    if (!token) return { ok: false, reason: 'missing' };
    const payload = verifyHs256(token, this.secret, Math.floor(Date.now() / 1000));
    if (typeof payload === 'string') return { ok: false, reason: payload };
    const sub = userIdOf(payload);
    // Our own tokens always expire; the original system may issue `id` tokens without exp (JWT_EXPIRES_IN=-1).
    if (sub === null || (typeof payload.sub === 'string' && payload.exp === undefined)) return { ok: false, reason: 'invalid' };
    const role = payload.role === 'admin' ? 'admin' : 'user';
    const name = typeof payload.name === 'string' ? payload.name : sub;
    const principal: Principal = { userId: sub, name, role };
    if (typeof payload.exp === 'number') this.expiry.set(principal, payload.exp * 1000);
    return { ok: true, principal };
  }
}

/** The claims this service reads; any others are ignored. */
export interface Claims {
  readonly sub?: unknown;
  readonly id?: unknown;
  readonly name?: unknown;
  readonly role?: unknown;
  readonly exp?: unknown;
  readonly nbf?: unknown;
  readonly iat?: unknown;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const SHA256_BYTES = 32;

/**
 * A compact HS256 JWS with a JSON-object claims set, checked as jose's `jwtVerify` with
 * `algorithms: ['HS256']` checks it: three base64url segments; a protected header that is a
 * JSON object with `alg` exactly `HS256` (so `none` and every other algorithm are refused
 * before any signature work) and no `crit` (no extension is understood here; jose also
 * refuses every one but `b64`); the HMAC compared in constant time; `exp`, `nbf`, `iat`
 * numbers when present; expired when `exp <= now`, refused when `nbf > now` (seconds).
 */
export function verifyHs256(token: string, secret: Buffer, nowSeconds: number): Claims | 'expired' | 'invalid' {
  const dot1 = token.indexOf('.');
  const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
  if (dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) return 'invalid';
  const headerB64 = token.slice(0, dot1);
  const payloadB64 = token.slice(dot1 + 1, dot2);
  const signatureB64 = token.slice(dot2 + 1);
  if (!BASE64URL.test(headerB64) || !BASE64URL.test(payloadB64) || !BASE64URL.test(signatureB64)) return 'invalid';
  const header = jsonObjectOf(headerB64);
  if (header === null || header.alg !== 'HS256' || header.crit !== undefined) return 'invalid';
  const signature = Buffer.from(signatureB64, 'base64url');
  if (signature.length !== SHA256_BYTES) return 'invalid';
  const expected = createHmac('sha256', secret).update(token.slice(0, dot2)).digest();
  if (!timingSafeEqual(signature, expected)) return 'invalid';
  const claims: Claims | null = jsonObjectOf(payloadB64);
  if (claims === null) return 'invalid';
  const { exp, nbf, iat } = claims;
  for (const time of [exp, nbf, iat]) if (time !== undefined && typeof time !== 'number') return 'invalid';
  if (typeof nbf === 'number' && nbf > nowSeconds) return 'invalid';
  if (typeof exp === 'number' && exp <= nowSeconds) return 'expired';
  return claims;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The segment's JSON when it is a plain object (not an array, null or a scalar); null otherwise. */
function jsonObjectOf(segmentB64: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(UTF8.decode(Buffer.from(segmentB64, 'base64url')));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const MAX_USER_ID = 256;

/** `sub`, else the original system's `id` claim; null when neither is a usable string. */
function userIdOf(payload: { sub?: unknown; id?: unknown }): string | null {
  const raw = typeof payload.sub === 'string' ? payload.sub : typeof payload.id === 'string' || typeof payload.id === 'number' ? String(payload.id) : null;
  return raw !== null && raw.length > 0 && raw.length <= MAX_USER_ID ? raw : null;
}
