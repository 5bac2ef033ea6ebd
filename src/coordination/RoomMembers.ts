/**
 * Who belongs to a `chat:` or `channel:` room, set by a backend through the REST API
 * and shared by every instance (issue 13 #2: without it any signed-in user could join
 * and read or inject any room). Each write keeps two views in step: the room's member
 * set (join checks, `GET /api/rooms/<room>/members`) and the user's room set
 * (`join-channels` = "join all my channels"), so neither needs a scan.
 */
export interface RoomMembers {
  /** Adds the user to the room; false when already a member. */
  add(room: string, userId: string): Promise<boolean>;
  /** Removes the user from the room; false when not a member. */
  remove(room: string, userId: string): Promise<boolean>;
  isMember(room: string, userId: string): Promise<boolean>;
  /** Members of the room, sorted. */
  members(room: string): Promise<string[]>;
  /** Rooms the user is a member of, sorted. */
  roomsOf(userId: string): Promise<string[]>;
}

/** A membership change as the instances tell each other (on the room's bus topic, so only instances with members hear it). */
export interface MembershipChange {
  readonly op: 'remove';
  readonly room: string;
  readonly userId: string;
}
