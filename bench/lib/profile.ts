import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The CPU-profile flag shared by the benches: `--profile` on the bench's command line or
 * `BENCH_PROFILE=1` starts every server process under `--cpu-prof`, one directory per server
 * under bench/results/profiles/<bench>/<server>/ (git-ignored: profiles are big and per machine),
 * so a regression can be read in a profile instead of guessed. Node writes the profile when the
 * process exits normally — a server must turn SIGTERM into `process.exit`.
 */

/** bench/results/profiles/ in the repository, whether run from bench/ or dist/bench/. */
const PROFILES_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../bench/results/profiles/' : '../results/profiles/', import.meta.url));

export function profilingRequested(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--profile') || env.BENCH_PROFILE === '1';
}

/** Where the profiles of `server` in `bench` go. */
export function profileDir(bench: string, server: string): string {
  return `${PROFILES_DIR}${bench}/${server}`;
}

/**
 * Extra node arguments for a server process: none unless profiling was requested. The server's
 * directory is emptied first so it holds this run's profile only.
 */
export function profileNodeArgs(bench: string, server: string, requested = profilingRequested()): string[] {
  if (!requested) return [];
  const dir = profileDir(bench, server);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir];
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** `function (file:line)`, `(program)`, `(garbage collector)`, … */
  readonly frame: string;
  readonly ms: number;
  /** Share of all sampled time, %. */
  readonly pct: number;
}

/**
 * The `n` frames with the most self time in the main-thread profiles of `dir`, as shares of the
 * busy time. Worker threads (their own files) and `(idle)` are left out: a pool worker parked in
 * `Atomics.wait` is not where the server's CPU goes.
 */
export function topSelfTime(dir: string, n = 5): SelfTime[] {
  const byFrame = new Map<string, number>();
  let total = 0;
  // CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile; the main thread is thread 0.
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0')) {
    const profile = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as CpuProfile;
    const frames = new Map(
      profile.nodes.map((node) => {
        const { functionName, url, lineNumber } = node.callFrame;
        const where = url ? ` (${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1})` : '';
        return [node.id, `${functionName || '(anonymous)'}${where}`];
      }),
    );
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      const frame = frames.get(id)!;
      if (frame === '(idle)') return;
      total += us;
      byFrame.set(frame, (byFrame.get(frame) ?? 0) + us);
    });
  }
  return [...byFrame.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([frame, us]) => ({ frame, ms: us / 1000, pct: total > 0 ? (us / total) * 100 : 0 }));
}
