import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadUws } from '../../src/gateway/uws.js';

/** Which code produced a figure and on what machine: a number without these cannot be compared. */
export interface Provenance {
  readonly commit: string;
  /** Uncommitted changes outside bench/results and the README (which the benches themselves rewrite). */
  readonly dirty: boolean;
  readonly cpu: string;
  readonly cores: number;
  readonly ramGiB: number;
  readonly node: string;
  /** `native (uws_linux_x64_115.node)` or `JS fallback` — the fallback costs most of the throughput. */
  readonly uws: string;
}

const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url));

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

let cached: Provenance | undefined;

export function provenance(): Provenance {
  if (cached) return cached;
  const status = git(['status', '--porcelain', '--', '.', ':(exclude)bench/results', ':(exclude)README.md']);
  const uws = loadUws();
  const cpu = cpus();
  cached = Object.freeze({
    commit: git(['rev-parse', 'HEAD']) ?? 'unknown (not a git checkout)',
    dirty: status === null ? false : status.length > 0,
    cpu: cpu[0]?.model?.trim() ?? 'unknown CPU',
    cores: cpu.length,
    ramGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    uws: uws.native ? `native (${basename(uws.binary ?? '?')})` : 'JS fallback',
  });
  return cached;
}
