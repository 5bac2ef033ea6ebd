import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { provenance, type Provenance } from './provenance.js';

export type Target = { min: number } | { max: number };

/** A chart panel chosen by the bench (bench-all.mjs otherwise groups metrics by name). */
export interface Chart {
  readonly title: string;
  readonly bars: ReadonlyArray<{ readonly label: string; readonly metric: string; readonly baseline?: boolean }>;
}

export interface BenchResult {
  readonly name: string;
  readonly metrics: Record<string, number>;
  readonly targets: Record<string, Target>;
  readonly pass: boolean;
  readonly at: string;
  /** The commit and machine that produced it (report.md prints them). */
  readonly provenance: Provenance;
  readonly charts?: readonly Chart[];
}

/** bench/results/ in the repository, whether run from bench/ or dist/bench/. */
const RESULTS_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../bench/results/' : '../results/', import.meta.url));

function meets(value: number | undefined, target: Target): boolean {
  if (value === undefined || Number.isNaN(value)) return false;
  return 'min' in target ? value >= target.min : value <= target.max;
}

/**
 * Prints the verdict per target, writes bench/results/<name>.json and, on FAIL, sets
 * process.exitCode = 1 (never back to 0), so every bench fails its `npm run` the same way
 * and `npm run bench` can tell. A bench that crashes sets its own non-zero code.
 */
export function reportResult(
  name: string,
  metrics: Record<string, number>,
  targets: Record<string, Target>,
  extra: { readonly charts?: readonly Chart[] } = {},
): BenchResult {
  const verdicts = Object.entries(targets).map(([metric, target]) => {
    const ok = meets(metrics[metric], target);
    const rule = 'min' in target ? `>= ${target.min}` : `<= ${target.max}`;
    return { metric, ok, line: `${ok ? 'PASS' : 'FAIL'}  ${metric} = ${fmt(metrics[metric])} (target ${rule})` };
  });
  const result: BenchResult = { name, metrics, targets, pass: verdicts.every((v) => v.ok), at: new Date().toISOString(), provenance: provenance(), ...extra };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${name}: verdict`);
  for (const v of verdicts) console.log(`  ${v.line}`);
  console.log(`  => ${result.pass ? 'PASS' : 'FAIL'} (written to bench/results/${name}.json)`);
  if (!result.pass) process.exitCode = 1;
  return result;
}

export function fmt(n: number | undefined): string {
  if (n === undefined) return 'n/a';
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}
