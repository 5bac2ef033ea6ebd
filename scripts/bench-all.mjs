#!/usr/bin/env node
// `npm run bench`: runs every `bench:*` script of package.json in sequence (one at a time, so
// they do not compete for the two cores), then writes bench/results/report.md with one SVG
// chart per benchmark (bench/results/<name>.svg) and refreshes the README's benchmark table.
//
//   node scripts/bench-all.mjs                 run everything, then report
//   node scripts/bench-all.mjs --only ws,docs  run some, report on all results present
//   node scripts/bench-all.mjs --report-only   just rebuild report.md, the charts and the README table
//
// A failing bench (FAIL verdict or crash) does not stop the run: the others still run, the
// report marks it, and the script exits 1 at the end.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { updateReadme } from './bench-readme.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = `${ROOT}bench/results/`;

/** Words naming a baseline system in a metric name (`uws_deliveries_per_s`, `stop_p50_ms_naive`). */
const BASELINE_WORDS = new Set(['baseline', 'naive', 'bare', 'uws', 'socketio', 'plain', 'reference', 'stock', 'python']);
/** Panels per chart: more becomes unreadable; the full list is in the report's table. */
const MAX_PANELS = 8;

export function loadResults() {
  if (!existsSync(RESULTS)) return [];
  return readdirSync(RESULTS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(`${RESULTS}${f}`, 'utf8')))
    .filter((r) => r && typeof r.name === 'string' && r.metrics && typeof r.metrics === 'object');
}

export function fmt(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return 'n/a';
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toFixed(a >= 1e8 ? 0 : 2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(a >= 1e6 ? 0 : 1)}k`;
  if (a >= 100) return n.toFixed(0);
  return Number(n.toPrecision(3)).toString();
}

export function targetText(t) {
  return 'min' in t ? `≥ ${fmt(t.min)}` : `≤ ${fmt(t.max)}`;
}

/**
 * A metric name split into the system it measures and the measure: `uws_ack_p50_us` →
 * {system: 'uws', stem: 'ack_p50_us'}; `stop_p50_ms_naive` → {naive, stop_p50_ms};
 * `switchyard_sweep_ms` and unprefixed names → switchyard.
 */
function splitMetric(metric) {
  const words = metric.split('_');
  const system = words.filter((w) => BASELINE_WORDS.has(w));
  const stem = words.filter((w) => !BASELINE_WORDS.has(w) && w !== 'switchyard').join('_');
  return { system: system.join(' ') || 'switchyard', baseline: system.length > 0, stem };
}

/**
 * The panels of a benchmark's chart. A result may carry its own `charts`
 * (`[{title, bars: [{label, metric, baseline?}]}]`); otherwise metrics measuring the same
 * thing on different systems (same stem once the system words are removed) become one
 * panel of bars, switchyard against its baselines. Ratios (`*_vs_*`) stay in the tables.
 */
export function panelsOf(result) {
  const metrics = Object.entries(result.metrics).filter(([m, v]) => typeof v === 'number' && !/(^|_)vs(_|$)/.test(m));
  if (Array.isArray(result.charts)) {
    return result.charts.map((c) => ({
      title: c.title,
      bars: c.bars.filter((b) => typeof result.metrics[b.metric] === 'number').map((b) => ({ ...b, value: result.metrics[b.metric] })),
    }));
  }
  const byStem = new Map();
  for (const [metric, value] of metrics) {
    const { system, baseline, stem } = splitMetric(metric);
    if (!byStem.has(stem)) byStem.set(stem, []);
    byStem.get(stem).push({ label: system, metric, value, baseline });
  }
  // A baseline measured under a shorter name (`baseline_msgs_per_s`) joins the switchyard
  // metrics whose stem ends with it (`tell_msgs_per_s`, `tell_sync_msgs_per_s`).
  for (const [stem, bars] of [...byStem]) {
    if (bars.some((b) => !b.baseline)) continue;
    const owners = [...byStem].filter(([other, ob]) => other !== stem && other.endsWith(`_${stem}`) && ob.every((b) => !b.baseline));
    if (owners.length === 0) continue;
    const merged = [...owners.flatMap(([other, ob]) => ob.map((b) => ({ ...b, label: other.slice(0, -stem.length - 1).replace(/_/g, ' ') }))), ...bars];
    for (const [other] of owners) byStem.delete(other);
    byStem.set(stem, merged);
  }
  const title = (stem) => stem.replace(/_/g, ' ');
  const panels = [...byStem]
    .filter(([, bars]) => bars.length >= 2 && bars.some((b) => b.baseline) && bars.some((b) => !b.baseline) && bars.some((b) => b.value !== 0))
    .map(([stem, bars]) => ({ title: title(stem), bars: [...bars.filter((b) => !b.baseline), ...bars.filter((b) => b.baseline)] }));
  // Targeted measures first: they are what the verdict is about.
  const targeted = (p) => p.bars.some((b) => result.targets?.[b.metric]);
  panels.sort((a, b) => Number(targeted(b)) - Number(targeted(a)));
  if (panels.length > 0) return panels.slice(0, MAX_PANELS);
  // Nothing to compare: chart the targeted figures on their own.
  return metrics
    .filter(([m]) => result.targets?.[m])
    .map(([metric, value]) => ({ title: title(metric), bars: [{ label: 'switchyard', metric, value, baseline: false }] }));
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** A horizontal bar chart, one panel per comparison: switchyard blue, baselines grey, targets dashed red. */
export function renderSvg(result) {
  const panels = panelsOf(result);
  const W = 760;
  const LABEL = 210;
  const VALUE = 80;
  const BAR_H = 20;
  const GAP = 6;
  const plotW = W - LABEL - VALUE - 20;
  let y = 34;
  const parts = [];
  parts.push(`<text x="12" y="22" class="title">${esc(result.name)} — ${result.pass ? 'PASS' : 'FAIL'} · ${esc(result.at ?? '')}</text>`);
  if (panels.length === 0) {
    parts.push(`<text x="12" y="${y + 16}" class="note">no comparable metrics (see bench/results/${esc(result.name)}.json)</text>`);
    y += 30;
  }
  for (const panel of panels) {
    y += 10;
    parts.push(`<text x="12" y="${y + 12}" class="panel">${esc(panel.title)}</text>`);
    y += 20;
    const targets = panel.bars.map((b) => result.targets?.[b.metric]).filter(Boolean);
    const targetValues = targets.map((t) => ('min' in t ? t.min : t.max));
    const max = Math.max(...panel.bars.map((b) => Math.abs(b.value)), ...targetValues, 1e-9);
    const x0 = LABEL;
    for (const bar of panel.bars) {
      const w = Math.max(1, (Math.abs(bar.value) / max) * plotW);
      const cls = bar.baseline ? 'base' : 'swy';
      parts.push(`<text x="${LABEL - 8}" y="${y + BAR_H - 6}" class="label" text-anchor="end">${esc(bar.label)}</text>`);
      parts.push(`<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" class="${cls}"><title>${esc(bar.metric)} = ${bar.value}</title></rect>`);
      parts.push(`<text x="${(x0 + w + 6).toFixed(1)}" y="${y + BAR_H - 6}" class="value">${esc(fmt(bar.value))}</text>`);
      y += BAR_H + GAP;
    }
    for (const tv of targetValues) {
      const x = x0 + (Math.abs(tv) / max) * plotW;
      const top = y - panel.bars.length * (BAR_H + GAP);
      parts.push(`<line x1="${x.toFixed(1)}" y1="${top - 3}" x2="${x.toFixed(1)}" y2="${y - GAP + 3}" class="target"/>`);
      parts.push(`<text x="${x.toFixed(1)}" y="${y + 8}" class="tlabel" text-anchor="middle">target ${esc(fmt(tv))}</text>`);
      y += 6;
    }
    y += 6;
  }
  y += 26;
  parts.push(`<rect x="12" y="${y - 12}" width="12" height="12" class="swy"/><text x="30" y="${y - 2}" class="note">switchyard</text>`);
  parts.push(`<rect x="120" y="${y - 12}" width="12" height="12" class="base"/><text x="138" y="${y - 2}" class="note">baseline</text>`);
  const H = y + 10;
  const style =
    'text{font-family:system-ui,sans-serif;fill:#222}.title{font-size:15px;font-weight:600}.panel{font-size:13px;fill:#555}' +
    '.label{font-size:12px}.value{font-size:12px;fill:#333}.note{font-size:11px;fill:#666}.tlabel{font-size:10px;fill:#c0392b}' +
    '.swy{fill:#2f80ed}.base{fill:#a0a7b0}.target{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:4 3}';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(result.name)} benchmark">
<style>${style}</style><rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}

/** `abc1234` or `abc1234 (dirty)`; `unknown` for results written before provenance was recorded. */
function commitText(p) {
  if (!p?.commit) return 'unknown';
  return `\`${p.commit.slice(0, 12)}\`${p.dirty ? ' (dirty)' : ''}`;
}

function machineText(p) {
  return `${p.cores} × ${p.cpu}, ${p.ramGiB} GiB RAM, Node ${p.node}, uWebSockets.js ${p.uws}`;
}

/** The commit and machine of this run, from the compiled bench/lib/provenance.ts (the same code every bench records with). */
async function currentProvenance() {
  const { provenance } = await import(pathToFileURL(`${ROOT}dist/bench/lib/provenance.js`).href);
  return provenance();
}

export function writeReport(results, runs = new Map(), here) {
  const lines = [
    '# Benchmark report',
    '',
    `Generated ${new Date().toISOString()} by \`npm run bench\` at commit ${commitText(here)}.`,
    '',
    `Machine: ${machineText(here)}.`,
    '',
    'Blue bars are switchyard, grey bars its baselines, dashed red lines the targets. Each benchmark also wrote `<name>.json` here.',
    'A result from another commit or machine than the above says so in the last column.',
    '',
    '| benchmark | verdict | targets | run at | this run |',
    '|---|---|---|---|---|',
  ];
  for (const r of results) {
    const targets = Object.entries(r.targets ?? {}).map(([m, t]) => `${m} = ${fmt(r.metrics[m])} (${targetText(t)})`).join('<br>') || '—';
    const run = runs.get(r.name);
    const status = run ? (run.code === 0 ? `ran (${run.seconds}s)` : `**exit ${run.code}**`) : 'earlier result';
    const elsewhere = r.metrics?.quick === 1 ? ['**quick run** (validation only)'] : [];
    if (commitText(r.provenance) !== commitText(here)) elsewhere.push(`commit ${commitText(r.provenance)}`);
    if (r.provenance && machineText(r.provenance) !== machineText(here)) elsewhere.push(`on ${machineText(r.provenance)}`);
    lines.push(`| [${r.name}](#${r.name}) | ${r.pass ? '✅ pass' : '❌ fail'} | ${targets} | ${r.at ?? '—'} | ${[status, ...elsewhere].join('<br>')} |`);
  }
  const missing = [...runs].filter(([name]) => !results.some((r) => r.name === name));
  for (const [name, run] of missing) lines.push(`| ${name} | ❌ no result | — | — | **exit ${run.code}** — it wrote no bench/results/${name}.json |`);
  for (const r of results) {
    writeFileSync(`${RESULTS}${r.name}.svg`, renderSvg(r));
    lines.push('', `## ${r.name}`, '', `![${r.name} chart](${r.name}.svg)`, '', '| metric | value | target |', '|---|---|---|');
    for (const [m, v] of Object.entries(r.metrics)) lines.push(`| \`${m}\` | ${fmt(v)} | ${r.targets?.[m] ? targetText(r.targets[m]) : ''} |`);
  }
  writeFileSync(`${RESULTS}report.md`, `${lines.join('\n')}\n`);
}

function benchScripts() {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));
  return Object.keys(pkg.scripts ?? {}).filter((s) => s.startsWith('bench:'));
}

/**
 * One bench may not hold the whole run hostage: past this its whole process group is stopped
 * and it counts as failed. bench:vector alone took 31 min on a 2-core machine (1M chunks: load
 * 581 s, HNSW build 736 s, exact top-10 272 s), over the 30 min this once was; and a timeout
 * that signalled npm only left the bench running on behind the report.
 */
const BENCH_TIMEOUT_MS = 60 * 60_000;

/** Runs `npm run <script>` in its own process group; resolves with its exit code (1 after a timeout). */
function runScript(script) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { cwd: ROOT, stdio: 'inherit', detached: true });
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      console.log(`bench: ${script}: over ${BENCH_TIMEOUT_MS / 60_000} min, stopped`);
      killGroup();
    }, BENCH_TIMEOUT_MS);
    // Its own group does not get the terminal's Ctrl-C: pass it on.
    const onInterrupt = () => {
      killGroup();
      process.exit(130);
    };
    process.once('SIGINT', onInterrupt);
    child.once('error', (err) => console.log(`bench: ${script}: ${err.message}`));
    child.once('close', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', onInterrupt);
      resolve(code ?? 1);
    });
  });
}

async function main(argv) {
  const reportOnly = argv.includes('--report-only');
  // Once up front: the report reads the compiled provenance module, and a broken build fails fast.
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('bench: npm run build failed; nothing was run');
    process.exit(1);
  }
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',').filter(Boolean).map((s) => s.replace(/^bench:/, ''))) : null;
  const runs = new Map();
  if (!reportOnly) {
    const scripts = benchScripts().filter((s) => !only || only.has(s.slice('bench:'.length)));
    for (const script of scripts) {
      const name = script.slice('bench:'.length);
      console.log(`\n=== ${script} (${runs.size + 1}/${scripts.length}) ===`);
      const started = Date.now();
      const code = await runScript(script);
      runs.set(name, { code, seconds: Math.round((Date.now() - started) / 1000) });
    }
  }
  const results = loadResults();
  const here = await currentProvenance();
  writeReport(results, runs, here);
  const readme = updateReadme(results, `Table generated at commit ${commitText(here)} on ${machineText(here)}; each result's own commit and machine are in the report. `);
  console.log(`\nbench: wrote bench/results/report.md and ${results.length} chart(s)${readme ? '; README table updated' : ''}`);
  for (const [name, run] of runs) if (run.code !== 0) console.log(`bench: ${name} exited ${run.code}`);
  const failed = [...runs.values()].some((r) => r.code !== 0);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main(process.argv.slice(2));
