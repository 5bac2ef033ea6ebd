import { keySafe } from '../keySafe.js';

/**
 * Every Redis key and channel name switchyard uses, in one place, under one prefix
 * (config `REDIS_KEY_PREFIX`, e.g. `switchyard`; tests use a random one). For Redis
 * Cluster, give a hash-tagged prefix such as `{switchyard}` so multi-key scripts
 * stay in one slot.
 */
export class RedisKeys {
  /** Session id → session JSON (without `lastSeenAt`, which lives in `sessionsSeen`). */
  readonly sessions: string;
  /** Zset: session id scored by lastSeenAt — the O(expired) idle sweep. */
  readonly sessionsSeen: string;
  /** Hash: user id → number of sessions; userCount() = HLEN. */
  readonly sessionsUsers: string;
  /** Zset: `model\u0001sid` scored by mark time — the O(expired) usage sweep. */
  readonly usageEntries: string;
  /** Zset: the same members, all scored 0, so sessionsOf(model) is a ZRANGEBYLEX. */
  readonly usageByModel: string;
  /** Hash: model → number of entries; models() = HKEYS. */
  readonly usageModels: string;
  /** Hash: sid → newline-joined models, so removeSession needs no scan. */
  readonly usageSessions: string;
  /** Hash: task id → task JSON. */
  readonly tasks: string;
  /** Zset: instance id scored by heartbeat expiry. */
  readonly instances: string;
  /** Hash: instance id → instance JSON. */
  readonly instancesInfo: string;

  constructor(readonly prefix: string) {
    if (!prefix) throw new RangeError('RedisKeys: prefix must be a non-empty string');
    this.sessions = `${prefix}:sessions`;
    this.sessionsSeen = `${prefix}:sessions:seen`;
    this.sessionsUsers = `${prefix}:sessions:users`;
    this.usageEntries = `${prefix}:usage:entries`;
    this.usageByModel = `${prefix}:usage:bymodel`;
    this.usageModels = `${prefix}:usage:models`;
    this.usageSessions = `${prefix}:usage:sessions`;
    this.tasks = `${prefix}:tasks`;
    this.instances = `${prefix}:instances`;
    this.instancesInfo = `${prefix}:instances:info`;
  }

  /** A lease lock holding its owner, e.g. `<prefix>:usage_cleanup_lock`. */
  lock(name: string): string {
    return `${this.prefix}:${name}`;
  }

  /** The lock's fence counter; never expires, so fences keep increasing. */
  fence(name: string): string {
    return `${this.prefix}:${name}:fence`;
  }

  /** Set of task ids of one item, e.g. `<prefix>:tasks:item:chat:42`. */
  taskItem(itemId: string): string {
    return `${this.prefix}:tasks:item:${itemId}`;
  }

  /** Set of task ids of one owner, e.g. `<prefix>:tasks:owner:alice` (the per-user task limit counts it). */
  taskOwner(ownerId: string): string {
    return `${this.prefix}:tasks:owner:${ownerId}`;
  }

  /** Set of task ids one instance registered (removed together when it dies). */
  taskInstance(instanceId: string): string {
    return `${this.prefix}:tasks:instance:${instanceId}`;
  }

  /** Stream of a document's updates (the document log); the id is escaped, see keySafe. */
  docLog(docId: string): string {
    return `${this.prefix}:doc:${keySafe(docId)}:log`;
  }

  /** The log id a document's stored state covers (markSaved / savedUpTo). */
  /** A member set (MemberSets): names are escaped like document ids, so no two can meet. */
  memberSet(name: string): string {
    return `${this.prefix}:sets:${keySafe(name)}`;
  }

  docSaved(docId: string): string {
    return `${this.prefix}:doc:${keySafe(docId)}:saved`;
  }

  /** Pub/sub channel of a bus topic; topic `tasks:commands` is `<prefix>:tasks:commands`. */
  channel(topic: string): string {
    return `${this.prefix}:${topic}`;
  }

  /** Inverse of channel(); null for a channel outside this prefix. */
  topicOf(channel: string): string | null {
    return channel.startsWith(`${this.prefix}:`) ? channel.slice(this.prefix.length + 1) : null;
  }

  /** Set: the members of a chat:/channel: room (RoomMembers); the room id is escaped so ids never collide. */
  roomMembers(room: string): string {
    return `${this.prefix}:room-members:${encodeURIComponent(room)}`;
  }

  /** Set: the rooms a user is a member of (join-channels). */
  userRooms(userId: string): string {
    return `${this.prefix}:user-rooms:${encodeURIComponent(userId)}`;
  }
}
