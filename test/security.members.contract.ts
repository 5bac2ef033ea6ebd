import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { RoomMembers } from '../src/coordination/RoomMembers.js';

/** The RoomMembers contract, run against the memory and the Redis adapter. */
export function roomMembersContract(make: () => RoomMembers): void {
  it('add / isMember / members / roomsOf agree; add and remove report whether they changed anything', async () => {
    const m = make();
    assert.equal(await m.add('channel:c1', 'alice'), true);
    assert.equal(await m.add('channel:c1', 'alice'), false, 'already a member');
    assert.equal(await m.add('channel:c1', 'bob'), true);
    assert.equal(await m.add('chat:x', 'alice'), true);
    assert.equal(await m.isMember('channel:c1', 'alice'), true);
    assert.equal(await m.isMember('channel:c1', 'carol'), false);
    assert.deepEqual(await m.members('channel:c1'), ['alice', 'bob']);
    assert.deepEqual(await m.roomsOf('alice'), ['channel:c1', 'chat:x']);
    assert.equal(await m.remove('channel:c1', 'alice'), true);
    assert.equal(await m.remove('channel:c1', 'alice'), false, 'no longer a member');
    assert.equal(await m.isMember('channel:c1', 'alice'), false);
    assert.deepEqual(await m.roomsOf('alice'), ['chat:x'], 'the per-user index follows the room set');
    assert.deepEqual(await m.members('channel:nobody'), []);
  });

  it('ids with ":" and "%" never meet: channel:a:b is not channel:a, user a:b is not user a', async () => {
    const m = make();
    await m.add('channel:a:b', 'u');
    await m.add('channel:a', 'u:v');
    await m.add('channel:a%3Ab', 'w');
    assert.deepEqual(await m.members('channel:a:b'), ['u']);
    assert.deepEqual(await m.members('channel:a'), ['u:v']);
    assert.deepEqual(await m.members('channel:a%3Ab'), ['w']);
    assert.deepEqual(await m.roomsOf('u'), ['channel:a:b']);
    assert.deepEqual(await m.roomsOf('u:v'), ['channel:a']);
  });
}
