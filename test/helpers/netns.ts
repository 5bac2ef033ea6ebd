import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * "Hosts" as Linux network namespaces, each joined to the root namespace by a veth
 * pair with its own /30 (10.a.b.4i+1 on the root side, 10.a.b.4i+2 inside). Inside a
 * namespace 127.0.0.1 is that namespace's own loopback, so an instance there reaches
 * the machine's services only over its link — what a second machine would see.
 *
 * Names carry this process's pid (`swy2h-<pid>-<i>`, veth `s2h<pid>h<i>`/`s2h<pid>n<i>`,
 * ≤ 15 characters) so runs in parallel do not collide, and a run that died without
 * cleaning up is recognised by its dead pid and removed by the next one (sweepStale).
 */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p));
const NS = /^swy2h-(\d+)-\d+$/;
const VETH = /^s2h(\d+)[hn]\d+$/;

export interface NetHost {
  readonly ns: string;
  /** Root-namespace end of the link: where this host reaches the machine's services. */
  readonly hostAddr: string;
  /** The namespace's end: where the machine reaches this host. */
  readonly nsAddr: string;
  /** Prefix for a command run inside the namespace (`ip netns exec` execs it in place). */
  readonly launcher: readonly string[];
}

function ip(...args: string[]): string {
  return execFileSync(IP!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why namespaces cannot be made here, or null. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root';
  if (!IP) return 'no `ip` (iproute2) binary';
  return null;
}

/** Removes namespaces and veths left by runs whose process is gone. */
export function sweepStale(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = NS.exec(name);
    if (m && !alive(Number(m[1]))) tryIp('netns', 'del', name);
  }
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    const m = name ? VETH.exec(name) : null;
    if (m && !alive(Number(m[1]))) tryIp('link', 'del', name!);
  }
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

export class NetnsHosts {
  private destroyed = false;
  private readonly onExit = () => this.destroy();

  private constructor(readonly hosts: readonly NetHost[]) {
    // A crash or --test-force-exit skips after(): the namespaces go with this process anyway.
    process.once('exit', this.onExit);
  }

  /** `count` namespaces, each linked to the root namespace. Throws (after undoing what it made) if the kernel refuses. */
  static create(count: number): NetnsHosts {
    const reason = netnsUnavailable();
    if (reason) throw new Error(`network namespaces unavailable: ${reason}`);
    sweepStale();
    const pid = process.pid;
    const net = `10.${(pid >> 8) & 255}.${pid & 255}`;
    const hosts: NetHost[] = [];
    const made = new NetnsHosts(hosts);
    try {
      for (let i = 0; i < count; i++) {
        const ns = `swy2h-${pid}-${i}`;
        const [outer, inner] = [`s2h${pid}h${i}`, `s2h${pid}n${i}`];
        const host: NetHost = { ns, hostAddr: `${net}.${4 * i + 1}`, nsAddr: `${net}.${4 * i + 2}`, launcher: [IP!, 'netns', 'exec', ns] };
        ip('netns', 'add', ns);
        hosts.push(host);
        ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
        ip('link', 'set', inner, 'netns', ns);
        ip('addr', 'add', `${host.hostAddr}/30`, 'dev', outer);
        ip('link', 'set', outer, 'up');
        ip('-n', ns, 'addr', 'add', `${host.nsAddr}/30`, 'dev', inner);
        ip('-n', ns, 'link', 'set', inner, 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
      }
    } catch (err) {
      made.destroy();
      throw new Error(`could not create network namespaces: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
    }
    return made;
  }

  /** Deletes the namespaces (which deletes their veth ends, and so the pairs). Idempotent, synchronous. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.onExit);
    for (const h of this.hosts) {
      tryIp('netns', 'del', h.ns);
      tryIp('link', 'del', `s2h${process.pid}h${h.ns.split('-').pop()}`);
    }
  }
}
