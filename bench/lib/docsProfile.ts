import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * BENCH_PROFILE=1: bench:docs starts each server with `--cpu-prof` into
 * bench/results/profiles/docs/<server>/ and prints the top self-time functions, so a
 * regression can be read from the profile rather than guessed.
 * (bench:docs' own copy until the shared bench/lib/profile.ts exists; fold into it then.)
 */
export const PROFILE = process.env.BENCH_PROFILE === '1';

const PROFILES = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../bench/results/profiles/' : '../results/profiles/', import.meta.url));

/** A fresh profile directory for one server of one bench (an older profile there is removed). */
export function profileDir(bench: string, server: string): string {
  const dir = join(PROFILES, bench, server);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly fn: string;
  readonly ms: number;
  readonly pct: number;
}

/**
 * Functions by self time in the main thread's .cpuprofile(s) in `dir`. Worker threads
 * (pool, storage) write their own files; they mostly sit blocked in Atomics.wait, which a
 * sampling profile shows as a busy JS frame, so they would drown the main thread's work.
 */
export function topSelfTime(dir: string, n = 5): SelfTime[] {
  const byFn = new Map<string, number>();
  let total = 0;
  let files: string[];
  try {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread.
    files = readdirSync(dir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  } catch {
    return [];
  }
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const name = new Map<number, string>();
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame;
      name.set(node.id, `${functionName || '(anonymous)'} ${url ? `${basename(url)}:${lineNumber + 1}` : ''}`.trim());
    }
    for (let i = 0; i < profile.samples.length; i++) {
      const us = profile.timeDeltas[i] ?? 0;
      const fn = name.get(profile.samples[i]!) ?? '?';
      byFn.set(fn, (byFn.get(fn) ?? 0) + us);
      total += us;
    }
  }
  // Idle time is not the server's work.
  for (const idle of ['(idle)', '(program)']) {
    total -= byFn.get(idle) ?? 0;
    byFn.delete(idle);
  }
  return [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, us]) => ({ fn, ms: us / 1000, pct: total > 0 ? (us / total) * 100 : 0 }));
}
