import { webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
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
 */
export class TokenService {
  /**
   * Imported once: given the raw bytes, jose imports a WebCrypto key on every verify,
   * and at a burst of socket upgrades those keys were ~1 KB of promoted garbage per
   * socket (sampling heap profile of bench:ws' idle phase).
   */
  private readonly key: Promise<webcrypto.CryptoKey>;
  /**
   * `exp` (epoch ms) of the token each verified principal came from. Kept beside the
   * principal, not in it, so the Principal shape stays what every module compares;
   * sockets look it up to close when their token expires (issue 13 #12).
   */
  private readonly expiry = new WeakMap<Principal, number>();
  constructor(secret: string) {
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
    try {
      const { payload } = await jwtVerify(token, await this.key, { algorithms: ['HS256'] });
      const sub = userIdOf(payload);
      // Our own tokens always expire; the original system may issue `id` tokens without exp (JWT_EXPIRES_IN=-1).
      if (sub === null || (typeof payload.sub === 'string' && payload.exp === undefined)) return { ok: false, reason: 'invalid' };
      const role = payload.role === 'admin' ? 'admin' : 'user';
      const name = typeof payload.name === 'string' ? payload.name : sub;
      const principal: Principal = { userId: sub, name, role };
      if (typeof payload.exp === 'number') this.expiry.set(principal, payload.exp * 1000);
      return { ok: true, principal };
    } catch (err) {
      return { ok: false, reason: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}

const MAX_USER_ID = 256;

/** `sub`, else the original system's `id` claim; null when neither is a usable string. */
function userIdOf(payload: { sub?: unknown; id?: unknown }): string | null {
  const raw = typeof payload.sub === 'string' ? payload.sub : typeof payload.id === 'string' || typeof payload.id === 'number' ? String(payload.id) : null;
  return raw !== null && raw.length > 0 && raw.length <= MAX_USER_ID ? raw : null;
}
