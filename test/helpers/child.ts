import type { ChildProcess } from 'node:child_process';

/** Kills `child` if this test process exits first, so no server or instance outlives the run. */
export function reapOnExit(child: ChildProcess): void {
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
}

/** Resolves with the exit code once `child` has exited. */
export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM, SIGKILL after `timeoutMs`, then the exit code; at once when it already exited. */
export async function terminate(child: ChildProcess, exited: Promise<number | null>, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
