import type { Redis } from 'ioredis';
import type { LeaseGuard, SessionInfo, SessionPool } from '../ports.js';
import { call } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';

/**
 * Sessions in a hash (sid → JSON) with `lastSeenAt` in a zset (the idle index) and
 * a per-user count hash. Every write is one Lua script so the three never disagree.
 */
interface PendingTouch {
  readonly sid: string;
  readonly now: number;
  readonly resolve: (touched: boolean) => void;
  readonly reject: (err: unknown) => void;
}

export class RedisSessionPool implements SessionPool {
  /** Touches asked for in this event-loop turn; sent as one pipeline (one write, one read) in the next. */
  private touches: PendingTouch[] | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
  ) {}

  private get all(): string[] {
    return [this.keys.sessions, this.keys.sessionsSeen, this.keys.sessionsUsers];
  }

  async upsert(session: SessionInfo): Promise<void> {
    // lastSeenAt is stored once, as the zset score, so touch() is a single ZADD.
    const { lastSeenAt, ...rest } = session;
    await call(this.redis, 'sessions.upsert', () =>
      this.scripts.run('sessionUpsert', this.all, [session.sid, session.userId, JSON.stringify(rest), lastSeenAt]),
    );
  }

  /**
   * Heartbeats of many sockets arrive in one loop turn: their touches go out as one
   * pipeline instead of one command (and one syscall each) interleaved with the bus
   * publishes on the same connection.
   */
  touch(sid: string, now: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (this.touches === null) {
        this.touches = [];
        setImmediate(() => void this.flushTouches());
      }
      this.touches.push({ sid, now, resolve, reject });
    });
  }

  private async flushTouches(): Promise<void> {
    const batch = this.touches ?? [];
    this.touches = null;
    const keys = [this.keys.sessions, this.keys.sessionsSeen];
    try {
      const replies = await call(this.redis, 'sessions.touch', () => {
        const pipeline = this.redis.pipeline() as unknown as Record<'sessionTouch', (...args: Array<string | number>) => unknown> & { exec(): Promise<Array<[Error | null, unknown]> | null> };
        for (const t of batch) pipeline.sessionTouch(...keys, t.sid, t.now);
        return pipeline.exec();
      });
      batch.forEach((t, i) => {
        const [err, reply] = replies?.[i] ?? [new Error('no reply in the touch pipeline'), null];
        if (err) t.reject(err);
        else t.resolve(reply === 1);
      });
    } catch (err) {
      for (const t of batch) t.reject(err);
    }
  }

  async remove(sid: string): Promise<void> {
    await call(this.redis, 'sessions.remove', () => this.scripts.run('sessionRemove', this.all, [sid]));
  }

  async get(sid: string): Promise<SessionInfo | null> {
    const replies = await call(this.redis, 'sessions.get', () => this.redis.multi().hget(this.keys.sessions, sid).zscore(this.keys.sessionsSeen, sid).exec());
    const json = replies?.[0]?.[1];
    const score = replies?.[1]?.[1];
    if (typeof json !== 'string' || typeof score !== 'string') return null;
    return Object.freeze({ ...(JSON.parse(json) as Omit<SessionInfo, 'lastSeenAt'>), lastSeenAt: Number(score) });
  }

  async count(): Promise<number> {
    return call(this.redis, 'sessions.count', () => this.redis.hlen(this.keys.sessions));
  }

  async userCount(): Promise<number> {
    return call(this.redis, 'sessions.userCount', () => this.redis.hlen(this.keys.sessionsUsers));
  }

  async sweepIdle(olderThan: number, limit: number, guard?: LeaseGuard): Promise<string[]> {
    const args = [`(${olderThan}`, limit];
    const reply = await call(this.redis, 'sessions.sweepIdle', () =>
      guard
        ? this.scripts.runFenced('sessionSweepFenced', guard.name, [...this.all, this.keys.lock(guard.name)], [...args, guard.owner])
        : this.scripts.run('sessionSweep', this.all, args),
    );
    return reply as string[];
  }
}
