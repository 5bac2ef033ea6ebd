import type { ResolvedKindOptions } from './options.js';

type RestartPolicy = ResolvedKindOptions['restart'];

/**
 * Delay before restart number `attempt` (1-based, counted within the intensity window):
 * min·2^(attempt-1), plus up to 50 % jitter so actors that crashed together (a shared
 * dependency went down) do not all come back in the same millisecond. Never below
 * minBackoffMs, never above maxBackoffMs.
 */
export function backoffDelay(attempt: number, policy: RestartPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxBackoffMs, policy.minBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.min(policy.maxBackoffMs, Math.round(base + random() * base * 0.5));
}

export type CrashVerdict = { readonly action: 'restart'; readonly delayMs: number; readonly attempt: number } | { readonly action: 'escalate'; readonly restarts: number };

/**
 * OTP-style restart intensity for one actor: more than `maxRestarts` crashes within
 * `withinMs` means restarting is not helping (a poison dependency, a bug on every start),
 * so the failure goes up to the parent instead of looping forever.
 */
export class RestartIntensity {
  private crashes: number[] = []; // timestamps, ms, oldest first

  constructor(
    private readonly policy: RestartPolicy,
    private readonly now: () => number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records a crash and decides what follows. */
  onCrash(): CrashVerdict {
    const at = this.now();
    const horizon = at - this.policy.withinMs;
    this.crashes = this.crashes.filter((t) => t > horizon);
    this.crashes.push(at);
    const attempt = this.crashes.length;
    if (attempt > this.policy.maxRestarts) return { action: 'escalate', restarts: attempt - 1 };
    return { action: 'restart', delayMs: backoffDelay(attempt, this.policy, this.random), attempt };
  }
}
