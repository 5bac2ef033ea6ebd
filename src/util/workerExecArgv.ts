/**
 * The flags of this process that a worker thread it starts should get. A Worker given an
 * explicit `execArgv` refuses V8's flags (`--max-old-space-size`, `--trace-gc`, `--stack-size`:
 * "invalid execArgv flags") although they already apply to the whole process, and the
 * parent's `--eval`/`--input-type` would make the worker's own module fail to load. So only
 * Node's per-thread options pass: preloads and loaders (with their value when it is the next
 * argument), conditions, source maps, profilers, experimental switches.
 */
const PASSES = /^--(?:require|import|loader|experimental-loader|conditions|enable-source-maps|cpu-prof|heap-prof|experimental-|no-experimental-|no-deprecation|no-warnings|trace-warnings|trace-uncaught)/;
const TAKES_VALUE = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader', '--conditions', '-C', '--cpu-prof-dir', '--cpu-prof-name', '--heap-prof-dir', '--heap-prof-name', '--cpu-prof-interval', '--heap-prof-interval']);

export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const takesValue = TAKES_VALUE.has(arg) && i + 1 < execArgv.length;
    if (PASSES.test(arg) || arg === '-r' || arg === '-C') kept.push(...(takesValue ? [arg, execArgv[i + 1]!] : [arg]));
    if (takesValue || arg === '-e' || arg === '-p' || arg === '--eval' || arg === '--print') i += 1; // skip the value (or the eval'd code)
  }
  return kept;
}
