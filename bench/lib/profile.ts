import { mkdirSync, rmSync } from 'node:fs';
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
