import './helpers/guard.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCode, MailboxFullError, SwitchyardError } from '../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

test('every error code is documented in docs/errors.md', () => {
  const missing = Object.values(ErrorCode).filter((code) => !doc.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
});

test('codes are unique and errors carry them', () => {
  const codes = Object.values(ErrorCode);
  assert.equal(new Set(codes).size, codes.length);
  const err = new MailboxFullError('chat:1', 10);
  assert.ok(err instanceof SwitchyardError);
  assert.equal(err.code, 'SWY_MAILBOX_FULL');
  assert.equal(err.name, 'MailboxFullError');
});
