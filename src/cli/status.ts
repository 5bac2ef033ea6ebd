import { parseArgs } from 'node:util';
import type { ClusterView } from '../dashboard/ClusterStats.js';
import { ApiClient, CliError, describeError, resolveEndpoint } from './ApiClient.js';
import { formatSeconds } from './Progress.js';

export const STATUS_USAGE = `  status [--url <http://host:port>] [--token <admin jwt>] [--json]
      Prints the cluster summary from GET /api/stats (admin token).
`;

export async function statusCommand(args: string[], io: { stdout: NodeJS.WritableStream }): Promise<number> {
  const { values } = parseArgs({ args, options: { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const { url, token } = resolveEndpoint(values, process.env);
  const reply = await new ApiClient(url, token, 10_000).request<ClusterView>('GET', '/api/stats');
  if (reply.status !== 200) throw new CliError(`GET ${url}/api/stats: ${describeError(reply)}`);
  io.stdout.write(values.json ? `${JSON.stringify(reply.body, null, 2)}\n` : renderStatus(reply.body));
  return 0;
}

const n = (v: number | undefined): string => (v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(1));

/** The summary as plain text: headline figures, the lease, one row per instance. */
export function renderStatus(view: ClusterView, now = Date.now()): string {
  const c = view.cluster;
  const lines = [
    `cluster: ${c.instances} instance(s) · coordination ${view.coordination} · answered by ${view.instanceId}`,
    view.lease ? `lease:   usage cleanup held by ${view.lease.holder} (fence ${view.lease.fence}, ttl ${formatSeconds(view.lease.ttlMs / 1000)})` : 'lease:   nobody holds the usage cleanup lease',
    `load:    ${n(c.connections)} connections · ${n(c.rooms)} rooms · ${n(c.sessions)} sessions · ${n(c['usage.models'])} models in use · ${n(c['tasks.running'])} tasks`,
  ];
  const extra = Object.keys(c).filter((k) => /^(docs|jobs|pool)\./.test(k));
  if (extra.length > 0) lines.push(`work:    ${extra.map((k) => `${k} ${n(c[k])}`).join(' · ')}`);
  lines.push(`loop:    event-loop lag p99 ${n(c['eventLoop.p99Ms'])} ms (worst instance) · last sweep ${n(c['sweep.lastMs'])} ms`);
  const rows = [['instance', 'host', 'pid', 'up', 'conns', 'rooms', 'actors', 'lag p99', 'leader', 'from']];
  for (const i of view.instances) {
    const s = i.stats;
    rows.push([
      i.instanceId + (i.self ? '*' : ''),
      i.host,
      String(i.pid),
      formatSeconds(Math.max(0, now - i.startedAt) / 1000),
      n(s.connections),
      n(s.rooms),
      n(s['actors.active']),
      n(s['eventLoop.p99Ms']),
      s['lease.leader'] ? 'yes' : '',
      i.source,
    ]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  lines.push('', ...rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()));
  return `${lines.join('\n')}\n`;
}
