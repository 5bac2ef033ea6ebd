import { readFileSync } from 'node:fs';

/** VmRSS of a process, bytes (Linux). */
export function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) * 1024 : 0;
}

/**
 * Watches a server while an attack runs: its RSS (peak) and `/healthz` (every answer
 * must be 200). `stop()` returns what was seen.
 */
export function watchServer(pid: number, base: string): { stop(): Promise<{ peakRss: number; probes: number; failures: string[] }> } {
  let peakRss = rssOf(pid);
  let probes = 0;
  const failures: string[] = [];
  let running = true;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssOf(pid));
    } catch (err) {
      failures.push(`no process: ${String(err)}`);
    }
  }, 25);
  const probing = (async () => {
    while (running) {
      try {
        const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        if (res.status !== 200) failures.push(`/healthz answered ${res.status}`);
      } catch (err) {
        failures.push(`/healthz failed: ${String(err)}`);
      }
      probes++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      clearInterval(sampler);
      await probing;
      return { peakRss, probes, failures };
    },
  };
}
