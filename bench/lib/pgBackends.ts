import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import pg from 'pg';
import { cpuSeconds } from '../ws/procStats.js';

/**
 * CPU of the PostgreSQL server processes that serve THIS process. On SQLite the store's
 * work runs in our own storage thread and shows in our CPU; on PostgreSQL it runs in
 * server backends, which a per-chunk CPU figure must count too or Postgres looks free.
 * Other sessions share the server (and the application name "switchyard"), so the
 * backends are found by our own sockets: the local ports of this process's TCP
 * connections are the `client_port`s of its backends in pg_stat_activity.
 */
function ownClientPorts(serverPort: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const [local, remote] = [f[1]!, f[2]!];
      if (parseInt(remote.split(':')[1]!, 16) === serverPort) ports.push(parseInt(local.split(':')[1]!, 16));
    }
  }
  return ports;
}

/** CPU seconds so far of each backend serving this process (the probe's own connection excluded). */
export async function ownBackendCpu(url: string): Promise<Map<number, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const serverPort = Number(new URL(url).port || 5432);
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[]) AND pid <> pg_backend_pid()',
      [ownClientPorts(serverPort)],
    );
    const out = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        out.set(pid, cpuSeconds(pid));
      } catch {
        // the backend exited meanwhile
      }
    }
    return out;
  } finally {
    await client.end();
  }
}

/** Server CPU seconds between two samples; a backend first seen in `end` counts from its start. */
export function backendCpuBetween(start: Map<number, number>, end: Map<number, number>): number {
  let s = 0;
  for (const [pid, cpu] of end) s += cpu - (start.get(pid) ?? 0);
  return s;
}
