#!/usr/bin/env node
// Rewrites the README's benchmark table (between <!-- bench:start --> and <!-- bench:end -->)
// from bench/results/*.json, so the README always shows the latest figures. The "what" cell of
// each row is kept from the current README (edit it there; new benchmarks start with "—").
// `npm run bench` calls this; run it alone with `node scripts/bench-readme.mjs`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, loadResults, targetText } from './bench-all.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = `${ROOT}README.md`;
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/** `bench:name` → its "what" text, from the rows currently between the markers. */
function currentDescriptions(block) {
  const out = new Map();
  for (const line of block.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`bench:([\w-]+)`$/.exec(cells[1] ?? '')?.[1];
    if (name && cells[2]) out.set(name, cells[2]);
  }
  return out;
}

export function renderTable(results, descriptions = new Map()) {
  const rows = [
    '| benchmark | what | target | latest | verdict | chart |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const targets = Object.entries(r.targets ?? {});
    const target = targets.map(([m, t]) => `\`${m}\` ${targetText(t)}`).join('<br>') || '—';
    const latest = targets.map(([m]) => fmt(r.metrics[m])).join('<br>') || '—';
    const chart = existsSync(`${ROOT}bench/results/${r.name}.svg`) ? `[chart](bench/results/${r.name}.svg)` : '—';
    const when = r.at ? ` (${String(r.at).slice(0, 10)}` + (r.metrics?.quick === 1 ? ', quick run)' : ')') : '';
    rows.push(`| \`bench:${r.name}\` | ${descriptions.get(r.name) ?? '—'} | ${target} | ${latest} | ${r.pass ? 'pass' : '**fail**'}${when} | ${chart} |`);
  }
  return rows.join('\n');
}

/** Replaces the table between the markers; false (README untouched) when the markers are missing. */
export function updateReadme(results, provenanceLine = '') {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) {
    console.error(`bench-readme: README.md has no ${START} … ${END} markers; table not updated`);
    return false;
  }
  const block = text.slice(start + START.length, end);
  const table = renderTable(results, currentDescriptions(block));
  const next = `${text.slice(0, start + START.length)}\n${table}\n\n${provenanceLine}Full report with charts: [bench/results/report.md](bench/results/report.md).\n${text.slice(end)}`;
  if (next !== text) writeFileSync(README, next);
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(updateReadme(loadResults()) ? 0 : 1);
}
