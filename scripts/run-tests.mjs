#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner.
// Node 20's `--test` does not take globs, so the file list is built here.
// Usage: node scripts/run-tests.mjs [substring filter ...]
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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
const tapFile = `test-artifacts/results-${process.pid}.tap`;
const args = ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tapFile}`, ...files];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
child.on('exit', (code, signal) => {
  // One plain closing line with the totals, read from the TAP copy of the run.
  const tap = readFileSync(tapFile, 'utf8');
  rmSync(tapFile, { force: true });
  const count = (k) => Number(tap.match(new RegExp(`^# ${k} (\\d+)$`, 'm'))?.[1] ?? 0);
  console.log(`tests: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
  process.exit(code ?? (signal ? 1 : 0));
});
