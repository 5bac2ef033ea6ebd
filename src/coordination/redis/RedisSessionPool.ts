import type { Redis } from 'ioredis';
import { SESSION_TOUCH_EVERY_MS, type LeaseGuard, type SessionInfo, type SessionPool } from '../ports.js';
import { call } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';
import type { Scripts } from './scripts.js';
import { TurnBatch, deferred, type Deferred } from './TurnBatch.js';

/**
 * Touches are collected this long before they go out: nothing waits for them on the
 * heartbeat path (the ack is sent first), and sessions expire after minutes, so 20 ms of
 * delay costs nothing. At 5,000 heartbeats/s that is 50 script calls a second instead of
 * one command (with its promise, arguments and reply) per heartbeat.
 */
const TOUCH_WINDOW_MS = 20;
/** Sessions per script call, so one call never holds Redis for long. */
const TOUCH_CHUNK = 500;

interface TouchWindow {
  /** sid → the latest time asked for in this window (a session is touched once per window). */
  readonly seen: Map<string, number>;
  /** Settles with the sids Redis did not know, or with the window's error. */
  readonly unknown: Deferred<ReadonlySet<string>>;
}

/**
 * Sessions in a hash (sid → JSON) with `lastSeenAt` in a zset (the idle index) and
 * a per-user count hash. Every write is one Lua script so the three never disagree.
 */
export class RedisSessionPool implements SessionPool {
  private readonly touches: TurnBatch<TouchWindow>;
  /** sid → when its last touch was asked for (sessions of this instance's sockets; dropped on remove). */
  private readonly touchedAt = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
    private readonly touchEveryMs = SESSION_TOUCH_EVERY_MS,
  ) {
    this.touches = new TurnBatch<TouchWindow>(() => ({ seen: new Map(), unknown: deferred() }), (w) => this.sendTouches(w), TOUCH_WINDOW_MS);
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
   * Heartbeats of many sockets arrive within a window: their touches go out as one
   * script call instead of one command each. Two touches of one session in a window
   * keep the later time; a touch within `touchEveryMs` of the last one of its session
   * that Redis knew is answered at once and not sent (lastSeenAt is then up to that old).
   */
  touch(sid: string, now: number): true | Promise<boolean> {
    const last = this.touchedAt.get(sid);
    if (last !== undefined && now - last < this.touchEveryMs && now >= last) return true;
    return this.send(sid, now);
  }

  private async send(sid: string, now: number): Promise<boolean> {
    this.touchedAt.set(sid, now);
    const w = this.touches.current();
    const prev = w.seen.get(sid);
    if (prev === undefined || now > prev) w.seen.set(sid, now);
    const known = !(await w.unknown.promise).has(sid);
    if (!known) this.touchedAt.delete(sid); // the caller may put it back: its next touch must reach Redis
    return known;
  }

  private sendTouches(w: TouchWindow): void {
    const pairs: Array<string | number> = [];
    for (const [sid, now] of w.seen) pairs.push(sid, now);
    const touchKeys = [this.keys.sessions, this.keys.sessionsSeen];
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < pairs.length; i += 2 * TOUCH_CHUNK) {
      const args = pairs.slice(i, i + 2 * TOUCH_CHUNK);
      calls.push(call(this.redis, 'sessions.touch', () => this.scripts.run('sessionTouch', touchKeys, args)));
    }
    Promise.all(calls).then(
      (replies) => w.unknown.resolve(new Set((replies as string[][]).flat())),
      (err: unknown) => w.unknown.reject(err),
    );
  }

  async remove(sid: string): Promise<void> {
    this.touchedAt.delete(sid);
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
