#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner.
// Node 20's `--test` does not take globs, so the file list is built here.
// Usage: node scripts/run-tests.mjs [substring filter ...]  (a filter starting with ^ matches the file name's start)
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const matches = (path, s) => (s.startsWith('^') ? path.startsWith(s.slice(1)) : path.includes(s));
const files = walk(root)
  .filter((f) => filters.length === 0 || filters.some((s) => matches(relative(root, f), s)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
mkdirSync('test-artifacts', { recursive: true });
// --test-force-exit: a file whose tests all finished exits even if a stray handle (a reconnecting
// client) lingers, so one leak cannot hang CI; --test-timeout bounds any single test.
const args = ['--test', '--test-force-exit', '--test-timeout=300000', '--test-reporter=spec', ...files];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });

// Read off the spec reporter's summary as it passes through. Node 20's `ℹ fail` counts only
// tests that threw: cancelled tests ("did not finish before its parent") and failing hooks
// (a before() that throws, guard.ts's after() on an unhandled rejection) are not in it. Every
// one of them is an entry (a `✖` line at column 0) of the "✖ failing tests:" list, so that
// list is the failure count; `ℹ fail` and `ℹ cancelled` only split it up.
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
let failingEntries = 0;
let inFailingList = false;
let tail = '';
function readLine(line) {
  if (line === '✖ failing tests:') {
    inFailingList = true;
    return;
  }
  if (inFailingList && line.startsWith('✖ ')) failingEntries++;
  const m = /^ℹ (pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line.trim());
  if (m) totals[m[1]] = Number(m[2]);
}
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (tail + chunk.toString('utf8')).split('\n');
  tail = lines.pop() ?? '';
  for (const line of lines) readLine(line);
});

child.on('exit', (code, signal) => {
  if (tail) readLine(tail);
  const exitCode = code ?? 1;
  const failed = Math.max(failingEntries, totals.fail + totals.cancelled);
  const hooks = Math.max(0, failed - totals.fail - totals.cancelled);
  const parts = [`${totals.fail} failing`, `${totals.cancelled} cancelled`, `${hooks} failed hooks/files`];
  let line = `tests: ${totals.pass} passed, ${failed} failed (${parts.join(', ')}), ${totals.skipped} skipped, ${totals.todo} todo`;
  // The runner can fail with nothing counted (a file that crashed before reporting, a signal):
  // the closing line must never read as a clean run then.
  if (exitCode !== 0 && failed === 0) {
    line += ` — but the test runner exited with ${signal ? `signal ${signal}` : `code ${exitCode}`}: FAILED, see the output above`;
  }
  console.log(line);
  process.exit(signal ? 1 : exitCode);
});
