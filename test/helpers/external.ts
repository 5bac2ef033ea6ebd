import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { describe, it } from 'node:test';

/**
 * Tests that need a program outside node_modules (redis-server, chromium) skip on a machine
 * without it — with one loud line naming what to install — so `npm test` passes on a fresh
 * clone; under the binary's REQUIRE variable (set by .ci/run) a missing binary fails instead,
 * because a silent skip in CI proves nothing.
 */
export interface ExternalBinary {
  /** The program, as the skip line names it. */
  readonly name: string;
  /** What the tests use it for, e.g. "browser tests". */
  readonly what: string;
  /** Absolute paths or names looked up on PATH, tried in order. */
  readonly candidates: readonly string[];
  /** How to get it, e.g. "apt-get install chromium". */
  readonly install: string;
  /** `<requireEnv>=1` turns a missing binary into a thrown error. */
  readonly requireEnv: string;
}

/** The first candidate that is an executable file; null when none is. */
export function findExecutable(candidates: readonly string[]): string | null {
  for (const candidate of candidates) {
    const paths = isAbsolute(candidate) ? [candidate] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, candidate));
    for (const path of paths) {
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // try the next one
      }
    }
  }
  return null;
}

/** The message for a missing binary; shared by the skip line and the REQUIRE failure. */
export function missingReason(bin: ExternalBinary): string {
  return `${bin.name} not found (looked for ${bin.candidates.join(', ')}); install it: ${bin.install}`;
}

/**
 * The binary's path, or null after printing one `!!! SKIPPING` line. Throws when
 * `<requireEnv>=1`.
 */
export function requireBinary(bin: ExternalBinary, env: NodeJS.ProcessEnv = process.env): string | null {
  const path = findExecutable(bin.candidates);
  if (path) return path;
  const reason = missingReason(bin);
  if (env[bin.requireEnv] === '1') throw new Error(`${bin.requireEnv}=1 but ${reason}`);
  console.warn(`!!! SKIPPING ${bin.what}: ${reason}; set ${bin.requireEnv}=1 to make this a failure`);
  return null;
}

/**
 * A suite that needs `bin`: the body gets the binary's path. Without it, one skipped test
 * stands in so the skip shows in the runner's totals.
 */
export function describeWithBinary(name: string, bin: ExternalBinary, fn: (path: string) => void): void {
  let path: string | null;
  try {
    path = requireBinary(bin);
  } catch (err) {
    // Under REQUIRE: a failing test with the reason, not a crash of the whole file.
    describe(name, () => it(`needs ${bin.name}`, () => { throw err; }));
    return;
  }
  if (path === null) {
    describe(name, () => it(`needs ${bin.name}`, { skip: missingReason(bin) }, () => {}));
    return;
  }
  describe(name, () => fn(path));
}

export const CHROMIUM: ExternalBinary = {
  name: 'chromium',
  what: 'browser tests',
  candidates: [...(process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : []), '/usr/bin/chromium', 'chromium'],
  install: 'apt-get install chromium',
  requireEnv: 'SWITCHYARD_REQUIRE_BROWSER',
};

export const REDIS_SERVER: ExternalBinary = {
  name: 'redis-server',
  what: 'Redis tests',
  candidates: ['redis-server'],
  install: 'apt-get install redis-server (or set REDIS_URL)',
  requireEnv: 'SWITCHYARD_REQUIRE_REDIS',
};
