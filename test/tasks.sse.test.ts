import './helpers/guard.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser } from '../src/tasks/index.js';
import { retryAfterMs } from '../src/tasks/completion/upstream.js';

/** The event-stream parser the completion task reads upstream answers with. */
describe('SseParser', () => {
  const stream = 'data: {"a":1}\n\n: keep-alive comment\n\nevent: note\ndata: line one\ndata: line two\nid: 7\n\ndata: [DONE]\n\n';

  it('gives the same events whichever way the stream is cut', () => {
    const whole = new SseParser().push(stream);
    assert.deepEqual(whole, [
      { event: 'message', data: '{"a":1}' },
      { event: 'note', data: 'line one\nline two', id: '7' },
      { event: 'message', data: '[DONE]', id: '7' },
    ]);
    for (let size = 1; size <= 7; size++) {
      const p = new SseParser();
      const got = [];
      for (let i = 0; i < stream.length; i += size) got.push(...p.push(stream.slice(i, i + size)));
      assert.deepEqual(got, whole, `chunks of ${size}`);
    }
  });

  it('accepts CRLF and CR line endings, also split between chunks', () => {
    const p = new SseParser();
    const got = [...p.push('data: x\r'), ...p.push('\n\r\n'), ...p.push('data:y\r\r')];
    assert.deepEqual(got, [
      { event: 'message', data: 'x' },
      { event: 'message', data: 'y' },
    ]);
  });

  it('holds an unfinished event back and refuses one that grows without end', () => {
    const p = new SseParser(64);
    assert.deepEqual(p.push('data: incomplete'), []);
    assert.throws(() => p.push('x'.repeat(100)), RangeError);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    assert.equal(retryAfterMs('2'), 2_000);
    assert.equal(retryAfterMs(new Date(61_000).toUTCString(), 1_000), 60_000);
    assert.equal(retryAfterMs('soon'), null);
    assert.equal(retryAfterMs(null), null);
  });
});
