import { execFile } from 'node:child_process';
import { NetnsHosts, netnsUnavailable } from './netns.js';
import { TcpForward } from './tcpForward.js';

/**
 * Where a multi-host test's instances run and how they reach the shared services.
 * `netns`: each host is a network namespace (helpers/netns.ts); a TcpForward in the
 * root namespace on the host's veth address carries its Redis and PostgreSQL traffic
 * to the machine's loopback-only servers, and another carries the test's requests to
 * the instance — every byte between an instance and anything else crosses its link.
 * `loopback`: everything on 127.0.0.1 (not root, no `ip`, or the kernel refused).
 */
export interface HostNetwork {
  readonly mode: 'netns' | 'loopback';
  /** One line saying which mode runs and why. */
  readonly description: string;
  /** netns: connections each host's Redis and PostgreSQL links carried so far. */
  linkConnections(i: number): { redis: number; postgres: number };
  /** netns: whether a process on host `i` can open a TCP connection to `127.0.0.1:port` (its own loopback). */
  loopbackReaches(i: number, port: number): Promise<boolean>;
  /** Environment for an instance on host `i`: where it listens, and its Redis and database URLs. */
  env(i: number): Record<string, string>;
  /** Command prefix that runs a process on host `i` (none on loopback). */
  launcher(i: number): readonly string[] | undefined;
  /** A 127.0.0.1 port at which the test reaches an instance on host `i` listening on `port`. */
  reach(i: number, port: number): Promise<number>;
  close(): Promise<void>;
}

export interface SharedServices {
  readonly redisUrl: string;
  readonly databaseUrl: string;
}

function withHost(url: string, host: string, port: number): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = `${port}`;
  return u.toString();
}

function loopback(services: SharedServices, why: string): HostNetwork {
  return {
    mode: 'loopback',
    description: `loopback mode (${why}): instances on 127.0.0.1, separate DATA_DIRs`,
    linkConnections: () => ({ redis: 0, postgres: 0 }),
    loopbackReaches: async () => true,
    env: () => ({ HOST: '127.0.0.1', REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl }),
    launcher: () => undefined,
    reach: async (_i, port) => port,
    close: async () => {},
  };
}

/** Namespaced hosts when this process may make them (unless SWITCHYARD_TWOHOSTS_NETNS=0), else loopback. */
export async function hostNetwork(count: number, services: SharedServices): Promise<HostNetwork> {
  if (process.env.SWITCHYARD_TWOHOSTS_NETNS === '0') return loopback(services, 'SWITCHYARD_TWOHOSTS_NETNS=0');
  const reason = netnsUnavailable();
  if (reason) return loopback(services, `${reason}: network namespaces need root and iproute2`);
  let netns: NetnsHosts;
  try {
    netns = NetnsHosts.create(count);
  } catch (err) {
    return loopback(services, (err as Error).message);
  }
  const forwards: TcpForward[] = [];
  const open = async (listen: string, target: { host: string; port: number }) => {
    const f = await TcpForward.open(listen, target);
    forwards.push(f);
    return f;
  };
  const close = async () => {
    await Promise.allSettled(forwards.map((f) => f.close()));
    netns.destroy();
  };
  try {
    const redis = new URL(services.redisUrl);
    const db = new URL(services.databaseUrl);
    const envs: Array<Record<string, string>> = [];
    const links: Array<{ redis: TcpForward; postgres: TcpForward }> = [];
    for (const h of netns.hosts) {
      const r = await open(h.hostAddr, { host: redis.hostname, port: Number(redis.port || 6379) });
      const p = await open(h.hostAddr, { host: db.hostname, port: Number(db.port || 5432) });
      links.push({ redis: r, postgres: p });
      envs.push({ HOST: h.nsAddr, REDIS_URL: withHost(services.redisUrl, h.hostAddr, r.port), DATABASE_URL: withHost(services.databaseUrl, h.hostAddr, p.port) });
    }
    const h0 = netns.hosts[0]!;
    return {
      mode: 'netns',
      linkConnections: (i) => ({ redis: links[i]!.redis.accepted, postgres: links[i]!.postgres.accepted }),
      loopbackReaches: (i, port) => connectsFrom(netns.hosts[i]!.launcher, port),
      description: `network-namespace mode: ${count} namespaces (${netns.hosts.map((h) => `${h.ns} ${h.nsAddr}`).join(', ')}), each on its own veth pair; Redis and PostgreSQL reached through forwarders on the root-side addresses (e.g. ${h0.hostAddr})`,
      env: (i) => envs[i]!,
      launcher: (i) => netns.hosts[i]!.launcher,
      reach: async (i, port) => (await open('127.0.0.1', { host: netns.hosts[i]!.nsAddr, port })).port,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Runs a one-line TCP connect to 127.0.0.1:`port` through `launcher`: true when it connects. */
function connectsFrom(launcher: readonly string[], port: number): Promise<boolean> {
  const probe = `require('net').connect(${port}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(3))`;
  const [file, ...args] = [...launcher, process.execPath, '-e', probe];
  return new Promise((resolve, reject) =>
    execFile(file!, args, { timeout: 10_000 }, (err) => {
      if (!err) resolve(true);
      else if ((err as { code?: unknown }).code === 3) resolve(false);
      else reject(err);
    }),
  );
}
