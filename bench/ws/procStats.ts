import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux x86). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of every thread of the process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime is field 14, stime 15 (1-based, from pid)
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

/** CPU use of some processes over an interval, as % of one core. */
export class CpuMeter {
  private readonly start = new Map<number, number>();
  private readonly startedAt = process.hrtime.bigint();

  constructor(private readonly pids: readonly number[]) {
    for (const pid of pids) this.start.set(pid, cpuSeconds(pid));
  }

  /** Percent of one core per pid since construction. */
  read(): Map<number, number> {
    const wall = Number(process.hrtime.bigint() - this.startedAt) / 1e9;
    return new Map(this.pids.map((pid) => [pid, ((cpuSeconds(pid) - this.start.get(pid)!) / wall) * 100]));
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3]! + (cpu[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * Busy share of all cores over an interval, in % of ONE core (2 cores fully busy = 200):
 * includes the kernel's softirq work for loopback TCP, which no process is charged for.
 */
export class MachineMeter {
  private readonly start = machineJiffies();
  read(cores: number): number {
    const end = machineJiffies();
    return ((end.busy - this.start.busy) / (end.total - this.start.total)) * 100 * cores;
  }
}
