import './helpers/guard.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Histogram } from '../bench/lib/histogram.js';

/** The benchmark plumbing every figure goes through: verdict → exit code, provenance, report rows, merged percentiles. */
const RESULTS = new URL('../../bench/results/', import.meta.url);
const RESULTS_MODULE = new URL('../bench/lib/results.js', import.meta.url).href;

function runVerdict(name: string, value: number): { status: number | null; json: Record<string, any> } {
  const script = `import { reportResult } from ${JSON.stringify(RESULTS_MODULE)}; reportResult(${JSON.stringify(name)}, { x: ${value} }, { x: { min: 2 } });`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const file = new URL(`${name}.json`, RESULTS);
  try {
    return { status: child.status, json: existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {} };
  } finally {
    rmSync(file, { force: true });
  }
}

test('a FAIL verdict makes the bench process exit non-zero, a PASS exits 0, and both record commit and machine', () => {
  const failed = runVerdict(`zz-test-${randomUUID().slice(0, 8)}`, 1);
  assert.equal(failed.status, 1);
  assert.equal(failed.json.pass, false);
  const passed = runVerdict(`zz-test-${randomUUID().slice(0, 8)}`, 3);
  assert.equal(passed.status, 0);
  assert.equal(passed.json.pass, true);
  const p = passed.json.provenance;
  assert.match(p.commit, /^[0-9a-f]{40}$/);
  assert.equal(typeof p.dirty, 'boolean');
  assert.ok(p.cores >= 1 && p.ramGiB > 0);
  assert.equal(p.node, process.version);
  assert.match(p.uws, /^(native \(uws_.+\.node\)|JS fallback)$/);
});

test('the README table marks failures and quick (validation) runs', async () => {
  const { renderTable } = (await import(new URL('../../scripts/bench-readme.mjs', import.meta.url).href)) as {
    renderTable: (results: unknown[], descriptions?: Map<string, string>) => string;
  };
  const table = renderTable(
    [
      { name: 'alpha', metrics: { quick: 1, x: 1 }, targets: { x: { min: 2 } }, pass: false, at: '2026-12-01T00:00:00Z' },
      { name: 'beta', metrics: { x: 3 }, targets: { x: { min: 2 } }, pass: true, at: '2026-12-02T00:00:00Z' },
    ],
    new Map([['alpha', 'what alpha measures']]),
  );
  const [alpha, beta] = table.split('\n').slice(2);
  assert.match(alpha!, /^\| `bench:alpha` \| what alpha measures \| `x` ≥ 2 \| 1 \| \*\*fail\*\* \(2026-12-01, quick run\) \|/);
  assert.match(beta!, /^\| `bench:beta` \| — \| `x` ≥ 2 \| 3 \| pass \(2026-12-02\) \|/);
});

test('latency histograms merged from several load processes give the percentiles of all samples', () => {
  const a = new Histogram();
  const b = new Histogram();
  for (let ms = 1; ms <= 100; ms++) (ms % 2 === 0 ? a : b).record(ms);
  b.record(5_000); // one straggler beyond the fine range
  const merged = new Histogram().add(a.toData()).add(b.toData());
  // Percentiles are the upper edge of a 0.1 ms bucket.
  assert.equal(merged.count, 101);
  assert.ok(Math.abs(merged.percentile(50) - 51) <= 0.15, `p50 ${merged.percentile(50)}`);
  assert.ok(Math.abs(merged.percentile(99) - 100) <= 0.15, `p99 ${merged.percentile(99)}`);
  assert.ok(merged.percentile(100) >= 5_000 && merged.percentile(100) <= 5_010);
  assert.ok(Number.isNaN(new Histogram().percentile(99)));
});
