import { ErrorCode, SwitchyardError } from '../../errors.js';
import { KeyedRateLimiter } from '../TokenBucket.js';
import type { WindowQuota } from './WindowQuota.js';

export interface RestLimitsOptions {
  /** Requests per second per signed-in user; 0 = no limit. */
  readonly perUserPerSecond: number;
  readonly perUserBurst: number;
  /** Requests per second per remote IP; 0 = no limit. */
  readonly perIpPerSecond: number;
  readonly perIpBurst: number;
  /** Named per-user window quotas a route may declare (RouteOptions.quota), e.g. `uploads`. */
  readonly quotas?: Readonly<Record<string, WindowQuota>>;
}

/** A refusal as the router sends it: the coded error and its `Retry-After` (seconds). */
export class LimitError extends SwitchyardError {
  constructor(code: ErrorCode, message: string, readonly retryAfterSec: number) {
    super(code, message);
  }
}

/**
 * REST limits (issue 13 #4): a token bucket per remote IP (checked before the token
 * is verified, so a flood costs no HMAC), one per user, and the window quotas routes
 * declare. Each refusal is a LimitError the router answers with 429 and `Retry-After`.
 */
export class RestLimits {
  private readonly perIp: KeyedRateLimiter | null;
  private readonly perUser: KeyedRateLimiter | null;

  constructor(private readonly options: RestLimitsOptions) {
    this.perIp = options.perIpPerSecond > 0 ? new KeyedRateLimiter(options.perIpPerSecond, options.perIpBurst) : null;
    this.perUser = options.perUserPerSecond > 0 ? new KeyedRateLimiter(options.perUserPerSecond, options.perUserBurst) : null;
  }

  /** Throws when the IP is over its rate. */
  checkIp(ip: string, now: number): void {
    if (this.perIp && !this.perIp.take(ip, now)) {
      throw new LimitError(ErrorCode.RATE_LIMITED, `over ${this.options.perIpPerSecond} requests/s from this address`, retryAfter(this.options.perIpPerSecond));
    }
  }

  /** Throws when the user is over their rate. */
  checkUser(userId: string, now: number): void {
    if (this.perUser && !this.perUser.take(userId, now)) {
      throw new LimitError(ErrorCode.RATE_LIMITED, `over ${this.options.perUserPerSecond} requests/s for this user`, retryAfter(this.options.perUserPerSecond));
    }
  }

  /** The quota a route names; a name nobody defined is a wiring bug, refused when the route is added. */
  quota(name: string): WindowQuota {
    const quota = this.options.quotas?.[name];
    if (!quota) throw new TypeError(`no quota named "${name}"`);
    return quota;
  }

  /** Spends one event of `bytes` from the user's quota, or throws SWY_QUOTA_EXCEEDED with the wait. */
  takeQuota(name: string, userId: string, bytes: number, now: number): void {
    const quota = this.quota(name);
    const waitMs = quota.take(userId, bytes, now);
    if (waitMs !== null) {
      const { maxCount, maxBytes, windowMs } = quota.options;
      throw new LimitError(
        ErrorCode.QUOTA_EXCEEDED,
        `${name} quota: at most ${maxCount} and ${maxBytes} bytes per ${Math.round(windowMs / 1000)} s per user`,
        Math.max(1, Math.ceil(waitMs / 1000)),
      );
    }
  }

  /** Forgets full buckets and empty quota windows. */
  prune(now: number): void {
    this.perIp?.prune(now);
    this.perUser?.prune(now);
    for (const quota of Object.values(this.options.quotas ?? {})) quota.prune(now);
  }
}

/** Seconds until the bucket holds one token again. */
const retryAfter = (perSecond: number): number => Math.max(1, Math.ceil(1 / perSecond));
