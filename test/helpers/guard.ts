import { after } from 'node:test';
import assert from 'node:assert/strict';

/**
 * Import once at the top of every test file: any unhandled rejection or uncaught
 * exception during the file fails it, with the offending error in the message.
 */
const seen: unknown[] = [];
process.on('unhandledRejection', (reason) => {
  seen.push(reason);
});
process.on('uncaughtException', (err) => {
  seen.push(err);
});
after(() => {
  assert.deepEqual(
    seen.map((e) => (e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e))),
    [],
    'unhandled rejections / uncaught exceptions during this file',
  );
});

export {};
