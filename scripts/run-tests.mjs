#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner.
// Node 20's `--test` does not take globs, so the file list is built here.
// Usage: node scripts/run-tests.mjs [substring filter ...]
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

const files = walk(root)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
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
// The spec reporter's closing lines ("ℹ pass N") are read off the stream as it passes through.
const totals = { pass: 0, fail: 0, skipped: 0 };
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const text = tail + chunk.toString('utf8');
  const lines = text.split('\n');
  tail = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^ℹ (pass|fail|skipped) (\d+)$/.exec(line.trim());
    if (m) totals[m[1]] = Number(m[2]);
  }
});
child.on('exit', (code, signal) => {
  // One plain closing line with the totals.
  console.log(`tests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
  process.exit(code ?? (signal ? 1 : 0));
});
