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

/** HS256 tokens with claims sub, name, role, exp (SPEC §4.1). */
export class TokenService {
  private readonly key: Uint8Array;
  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async sign(p: { sub: string; name?: string; role?: Role; ttlSeconds?: number }): Promise<string> {
    return new SignJWT({ name: p.name ?? p.sub, role: p.role ?? 'user' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(p.sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (p.ttlSeconds ?? 3600))
      .sign(this.key);
  }

  async verify(token: string | null | undefined): Promise<VerifyResult> {
    if (!token) return { ok: false, reason: 'missing' };
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
      const role = payload.role === 'admin' ? 'admin' : 'user';
      const sub = String(payload.sub);
      const name = typeof payload.name === 'string' ? payload.name : sub;
      return { ok: true, principal: { userId: sub, name, role } };
    } catch (err) {
      return { ok: false, reason: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}
