import type { Redis } from 'ioredis';
import type { LeaseGuard, SessionInfo, SessionPool } from '../ports.js';
import { call } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';
import { TurnBatch } from './TurnBatch.js';

/**
 * Sessions in a hash (sid → JSON) with `lastSeenAt` in a zset (the idle index) and
 * a per-user count hash. Every write is one Lua script so the three never disagree.
 */
/**
 * Touches are collected this long before they go out: nothing waits for them on the
 * heartbeat path, and session expiry works in seconds, so 5 ms of delay costs nothing.
 */
const TOUCH_WINDOW_MS = 5;

export class RedisSessionPool implements SessionPool {
  /** Touches of one event-loop turn, sent as one pipeline. */
  private readonly touches: TurnBatch<{ sid: string; now: number }>;

  constructor(
    private readonly redis: Redis,
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
  ) {
    const touchKeys = [keys.sessions, keys.sessionsSeen];
    // `sessionTouch` is the Lua command Scripts defined on this client; ioredis puts it on pipelines too.
    this.touches = new TurnBatch(redis, 'sessions.touch', (pipeline, t) => {
      (pipeline as unknown as Record<'sessionTouch', (...args: Array<string | number>) => unknown>).sessionTouch(...touchKeys, t.sid, t.now);
    }, TOUCH_WINDOW_MS);
  }

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
   * pipeline instead of one command (and one syscall) each, interleaved with the bus
   * publishes on the same connection.
   */
  async touch(sid: string, now: number): Promise<boolean> {
    return (await this.touches.add({ sid, now })) === 1;
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
