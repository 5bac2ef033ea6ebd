import './helpers/guard.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AppliedCursor } from '../src/docs/AppliedCursor.js';

it('applied cursor: an own acknowledgement counts at once when no delivery waits in the mailbox', () => {
  const c = new AppliedCursor('1-0');
  c.caughtUp('5-0');
  assert.equal(c.id, '5-0');
});

it('applied cursor: an own acknowledgement behind queued deliveries counts only after them, never moving back', () => {
  const c = new AppliedCursor('1-0');
  c.told(); // a foreign entry 3-0 is on its way through the mailbox
  c.caughtUp('4-0'); // own 4-0, appended after it
  assert.equal(c.id, '1-0', 'a save now must not claim 3-0, which is not applied yet');
  c.applied('3-0');
  assert.equal(c.id, '4-0');
  c.told();
  c.told();
  c.caughtUp('9-0');
  c.applied('7-0');
  assert.equal(c.id, '7-0', 'one delivery still waits');
  c.applied(undefined);
  assert.equal(c.id, '9-0');
  c.told();
  c.caughtUp('10-0');
  c.applied('12-0'); // the delivery carried later entries than the acknowledgement
  assert.equal(c.id, '12-0');
});
