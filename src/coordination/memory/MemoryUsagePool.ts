import { LeaseLostError } from '../../errors.js';
import { validateModelName } from '../modelName.js';
import type { LeaseGuard, UsagePool } from '../ports.js';
import type { MemoryLeaseLock } from './MemoryLeaseLock.js';
import { TimeIndex } from './TimeIndex.js';

interface Entry {
  readonly model: string;
  readonly sid: string;
}

/** (model, session) entries of one process, indexed by mark time so sweeps cost O(expired). */
export class MemoryUsagePool implements UsagePool {
  /** Entry objects are the index keys: one per (model, sid), found through `byModel`. */
  private readonly marks = new TimeIndex<Entry>();
  private readonly byModel = new Map<string, Map<string, Entry>>();
  /** sid → models, so removeSession needs no scan. */
  private readonly bySession = new Map<string, Set<string>>();

  constructor(private readonly lock: MemoryLeaseLock) {}

  async mark(model: string, sid: string, now: number): Promise<void> {
    validateModelName(model);
    let sessions = this.byModel.get(model);
    if (!sessions) this.byModel.set(model, (sessions = new Map()));
    let entry = sessions.get(sid);
    if (!entry) {
      entry = Object.freeze({ model, sid });
      sessions.set(sid, entry);
      let models = this.bySession.get(sid);
      if (!models) this.bySession.set(sid, (models = new Set()));
      models.add(model);
    }
    this.marks.set(entry, now);
  }

  async removeSession(sid: string): Promise<void> {
    const models = this.bySession.get(sid);
    if (!models) return;
    for (const model of [...models]) {
      const entry = this.byModel.get(model)?.get(sid);
      if (entry) {
        this.marks.delete(entry);
        this.unlink(entry);
      }
    }
  }

  async models(): Promise<string[]> {
    return [...this.byModel.keys()];
  }

  async sessionsOf(model: string): Promise<string[]> {
    return [...(this.byModel.get(model)?.keys() ?? [])];
  }

  async size(): Promise<number> {
    return this.marks.size;
  }

  async sweep(olderThan: number, limit: number, guard?: LeaseGuard): Promise<number> {
    if (guard && !this.lock.holds(guard)) throw new LeaseLostError(guard.name);
    const expired = this.marks.take(limit, (markedAt) => markedAt < olderThan);
    for (const entry of expired) this.unlink(entry);
    return expired.length;
  }

  /** Removes the entry from both side indexes; a model or session left empty disappears. */
  private unlink(entry: Entry): void {
    const sessions = this.byModel.get(entry.model);
    sessions?.delete(entry.sid);
    if (sessions?.size === 0) this.byModel.delete(entry.model);
    const models = this.bySession.get(entry.sid);
    models?.delete(entry.model);
    if (models?.size === 0) this.bySession.delete(entry.sid);
  }
}
