import type { Redis } from 'ioredis';
import type { RoomMembers } from '../RoomMembers.js';
import { call } from './connection.js';
import type { RedisKeys } from './RedisKeys.js';

/**
 * RoomMembers on Redis: a set of users per room and a set of rooms per user, both
 * written in one MULTI so every instance sees the two views agree. Room and user ids
 * are escaped in the key names (RedisKeys), so no two ids can meet in one key.
 */
export class RedisRoomMembers implements RoomMembers {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  async add(room: string, userId: string): Promise<boolean> {
    const replies = await call(this.redis, 'members.add', () =>
      this.redis.multi().sadd(this.keys.roomMembers(room), userId).sadd(this.keys.userRooms(userId), room).exec(),
    );
    return firstReply(replies) === 1;
  }

  async remove(room: string, userId: string): Promise<boolean> {
    const replies = await call(this.redis, 'members.remove', () =>
      this.redis.multi().srem(this.keys.roomMembers(room), userId).srem(this.keys.userRooms(userId), room).exec(),
    );
    return firstReply(replies) === 1;
  }

  async isMember(room: string, userId: string): Promise<boolean> {
    return (await call(this.redis, 'members.isMember', () => this.redis.sismember(this.keys.roomMembers(room), userId))) === 1;
  }

  async members(room: string): Promise<string[]> {
    return (await call(this.redis, 'members.members', () => this.redis.smembers(this.keys.roomMembers(room)))).sort();
  }

  async roomsOf(userId: string): Promise<string[]> {
    return (await call(this.redis, 'members.roomsOf', () => this.redis.smembers(this.keys.userRooms(userId)))).sort();
  }
}

/** The reply of a MULTI's first command; a failed command surfaces as its error. */
function firstReply(replies: [Error | null, unknown][] | null): unknown {
  const [err, value] = replies?.[0] ?? [new Error('transaction aborted'), null];
  if (err) throw err;
  return value;
}
