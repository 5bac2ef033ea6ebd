import { Counter, Gauge, type Registry } from 'prom-client';

export interface DocStatsSource {
  /** Documents with a Y.Doc on this instance. */
  loaded(): number;
  /** Live Awareness instances (each runs one outdated-state timer). */
  awarenessTimers(): number;
  /** Open document sockets. */
  connections(): number;
  /** Most sockets on one document. */
  maxConnectionsPerDoc(): number;
}

/** Document metrics; the gauges read live counts at scrape time, so they cannot drift. */
export class DocMetrics {
  readonly updates: Counter<'source'>;
  /**
   * Plain counts added to `updates` when it is collected: prom-client hashes the labels
   * of every labelled inc(), per update (3 % of a busy memory-mode server's CPU).
   */
  readonly clientUpdates = { n: 0, inc(by = 1): void { this.n += by; } };
  readonly remoteUpdates = { n: 0, inc(by = 1): void { this.n += by; } };
  readonly invalidMessages: Counter<'kind'>;
  readonly refusedWrites: Counter;
  readonly saves: Counter<'result'>;
  readonly loads: Counter<'result'>;

  constructor(registry: Registry, source: DocStatsSource) {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
    gauge('switchyard_docs_loaded', 'Documents loaded (Y.Doc in memory) on this instance', () => source.loaded());
    gauge('switchyard_docs_awareness_timers', 'Awareness instances (one outdated-state timer each) on this instance', () => source.awarenessTimers());
    gauge('switchyard_docs_connections', 'Open document sockets on this instance', () => source.connections());
    gauge('switchyard_docs_connections_max_per_doc', 'Most open sockets on a single document on this instance', () => source.maxConnectionsPerDoc());
    const pending = { client: this.clientUpdates, remote: this.remoteUpdates };
    this.updates = new Counter({
      name: 'switchyard_docs_updates_total',
      help: 'Yjs updates applied, by source (client, remote)',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        for (const [source, count] of Object.entries(pending)) {
          if (count.n > 0) this.inc({ source }, count.n);
          count.n = 0;
        }
      },
    });
    this.invalidMessages = new Counter({
      name: 'switchyard_docs_invalid_messages_total',
      help: 'Document frames refused as malformed (the socket was closed), by kind',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.refusedWrites = new Counter({ name: 'switchyard_docs_refused_writes_total', help: 'Updates from readers refused', registers: [registry] });
    this.saves = new Counter({ name: 'switchyard_docs_saves_total', help: 'Document saves, by result (ok, failed, skipped, refused: the writer lease was lost)', labelNames: ['result'], registers: [registry] });
    this.loads = new Counter({ name: 'switchyard_docs_loads_total', help: 'Document loads, by result (ok, missing, failed)', labelNames: ['result'], registers: [registry] });
  }
}
