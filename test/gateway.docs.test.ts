import './helpers/guard.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CloseCodes } from '../src/gateway/CloseCodes.js';
import { ClientEvent, ServerEvent } from '../src/gateway/protocol.js';

const doc = readFileSync(new URL('../../docs/event-socket.md', import.meta.url), 'utf8');

test('every close code, its reason and label are documented in docs/event-socket.md', () => {
  const missing = Object.entries(CloseCodes).filter(
    ([, c]) => !doc.includes(`| ${c.code} | \`${c.reason}\` | \`${c.label}\` |`),
  );
  assert.deepEqual(missing.map(([name]) => name), []);
});

test('every client and server event is documented in docs/event-socket.md', () => {
  const names = [...Object.values(ClientEvent), ...Object.values(ServerEvent)];
  assert.deepEqual(names.filter((name) => !doc.includes(`| \`${name}\` |`)), []);
});
