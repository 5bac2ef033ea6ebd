import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Prometheus series of the task manager, created once per registry. */
export class TaskMetrics {
  readonly created: Counter<'kind'>;
  readonly finished: Counter<'kind' | 'status'>;
  readonly duration: Histogram<'kind'>;
  readonly stopCommands: Counter<'direction'>;
  constructor(registry: Registry | undefined, running: () => number) {
    const registers = registry ? [registry] : [];
    this.created = new Counter({ name: 'switchyard_tasks_created_total', help: 'tasks started on this instance', labelNames: ['kind'], registers });
    this.finished = new Counter({
      name: 'switchyard_tasks_finished_total',
      help: 'tasks that left this instance, by outcome (completed, failed, cancelled)',
      labelNames: ['kind', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'switchyard_task_duration_seconds',
      help: 'run time of a task from start to exit',
      labelNames: ['kind'],
      buckets: [0.001, 0.01, 0.1, 1, 5, 30, 120, 600],
      registers,
    });
    this.stopCommands = new Counter({
      name: 'switchyard_task_stop_commands_total',
      help: 'stop commands published (sent) and received for a task of this instance (received)',
      labelNames: ['direction'],
      registers,
    });
    new Gauge({
      name: 'switchyard_tasks_running',
      help: 'tasks running on this instance',
      registers,
      collect() {
        this.set(running());
      },
    });
  }
}
