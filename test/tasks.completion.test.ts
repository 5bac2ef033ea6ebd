import './helpers/guard.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/errors.js';
import { TestClient, type Frame } from './helpers/gateway.js';
import { startRuntime, type TestRuntime } from './helpers/runtime.js';
import { FakeUpstream } from './helpers/upstream.js';
import { waitFor } from './helpers/wait.js';
import { api, recordExits, tokenFor } from './tasks.fixtures.js';

const API_KEY = 'sk-test-0123456789abcdefSECRET';

/** The shipped `completion` kind against a real OpenAI-compatible SSE server started here. */
describe('completion task against a streaming upstream', () => {
  let upstream: FakeUpstream;
  let t: TestRuntime;
  const clients: TestClient[] = [];
  before(async () => {
    upstream = await FakeUpstream.start();
    t = await startRuntime({
      log: { level: 'info', components: {} },
      tasks: {
        timeoutMs: 20_000,
        completion: {
          baseUrl: upstream.baseUrl,
          apiKey: API_KEY,
          model: 'default-model',
          maxRetries: 3,
          minBackoffMs: 50,
          maxBackoffMs: 2_000,
          maxTokens: 1_000,
          allowedModels: ['alt-model'],
        },
      },
    });
  });
  after(async () => {
    for (const c of clients) c.terminate();
    await t.runtime.stop();
    await upstream.close();
  });
  const connect = async (user: string) => {
    const c = await TestClient.open(`ws://127.0.0.1:${t.runtime.port}/ws`, { authorization: `Bearer ${await tokenFor(user)}` });
    clients.push(c);
    return c;
  };
  const start = async (user: string, chat: string, extra: Record<string, unknown> = {}) => {
    const r = await api(t.runtime, 'POST', '/api/tasks', user, {
      kind: 'completion',
      item_id: `chat:${chat}`,
      input: { messages: [{ role: 'user', content: 'hi' }], message_id: `m-${chat}`, ...extra },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.task_id as string;
  };
  const completionFrames = (c: TestClient, chat: string): Frame[] => c.events('events').filter((f) => f.data.chat_id === chat);
  const statusOf = (c: TestClient, taskId: string, status: string) =>
    c.waitFor((f) => f.event === 'task:status' && f.data.task_id === taskId && f.data.status === status, `${status} of ${taskId}`, 8_000);

  it('streams every delta to all of the owner’s sockets, in order, then done with the whole text', async () => {
    const tokens = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog', '.'];
    upstream.enqueue({ type: 'stream', tokens, delayMs: 5 });
    const [a1, a2, bob] = [await connect('alice'), await connect('alice'), await connect('bob')];
    const taskId = await start('alice', 'order');
    for (const socket of [a1, a2]) {
      await statusOf(socket, taskId, 'completed');
      const frames = completionFrames(socket, 'order');
      assert.deepEqual(
        frames.map((f) => f.data.data.data),
        [...tokens.map((content) => ({ content, done: false })), { content: tokens.join(''), done: true }],
      );
      assert.ok(frames.every((f) => f.data.message_id === 'm-order' && f.data.data.type === 'chat:completion'));
    }
    const seen = upstream.requests.at(-1)!;
    assert.equal(seen.body.stream, true);
    assert.equal(seen.body.model, 'default-model');
    assert.deepEqual(seen.body.messages, [{ role: 'user', content: 'hi' }]);
    assert.equal(seen.headers.authorization, `Bearer ${API_KEY}`);
    assert.equal(completionFrames(bob, 'order').length + bob.events('task:status').length, 0, 'another user got nothing');
    assert.equal(await t.runtime.coordination.tasks.get(taskId), null);
  });

  it('a stop closes the upstream connection within 100 ms', async () => {
    upstream.enqueue({ type: 'stream', tokens: ['partial'], hold: true });
    const alice = await connect('alice');
    const taskId = await start('alice', 'stopme');
    await alice.waitFor((f) => f.event === 'events' && f.data.chat_id === 'stopme', 'first delta');
    const seen = upstream.requests.at(-1)!;
    assert.equal(seen.closedEarlyAt, null, 'the upstream stream is open before the stop');
    const stopAt = Date.now();
    const stop = await api(t.runtime, 'POST', `/api/tasks/stop/${taskId}`, 'alice');
    assert.equal(stop.status, 200);
    await waitFor(() => seen.closedEarlyAt !== null, { timeoutMs: 2_000, intervalMs: 2, what: 'upstream to see the close' });
    const ms = seen.closedEarlyAt! - stopAt;
    assert.ok(ms <= 100, `upstream saw the connection closed ${ms} ms after the stop`);
    await statusOf(alice, taskId, 'cancelled');
    assert.ok(!completionFrames(alice, 'stopme').some((f) => f.data.data.data.done), 'no done frame after a stop');
  });

  it('a 429 with Retry-After is retried after the given delay, then streams', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({ type: 'status', status: 429, message: 'slow down', headers: { 'retry-after': '1' } }, { type: 'stream', tokens: ['ok'] });
    const alice = await connect('alice');
    const taskId = await start('alice', 'limited');
    await statusOf(alice, taskId, 'completed');
    const [first, second] = upstream.requests.slice(before);
    assert.ok(first && second, 'two upstream requests');
    assert.ok(second.at - first.at >= 900, `waited for Retry-After (${second.at - first.at} ms)`);
    assert.deepEqual(completionFrames(alice, 'limited').at(-1)!.data.data.data, { content: 'ok', done: true });
  });

  it('a 5xx and a dropped connection are retried with backoff', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({ type: 'status', status: 503 }, { type: 'reset' }, { type: 'stream', tokens: ['back'] });
    const alice = await connect('alice');
    const taskId = await start('alice', 'flaky');
    await statusOf(alice, taskId, 'completed');
    assert.equal(upstream.requests.length - before, 3);
  });

  it('a 401 fails at once with a clear error that never shows the key', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({ type: 'status', status: 401, message: `Incorrect API key provided: ${API_KEY}` });
    const alice = await connect('alice');
    const exits = recordExits(t.runtime);
    const taskId = await start('alice', 'denied');
    const failed = await statusOf(alice, taskId, 'failed');
    assert.equal(upstream.requests.length - before, 1, 'not retried');
    assert.equal(failed.data.error.code, ErrorCode.UPSTREAM_REJECTED);
    assert.match(failed.data.error.message, /answered 401 Unauthorized: Incorrect API key provided/);
    assert.ok(!failed.data.error.message.includes(API_KEY));
    await waitFor(() => exits.length > 0, { what: 'exit' });
    assert.equal(await t.runtime.coordination.tasks.get(taskId), null);
    assert.ok(!t.logs.lines.some((l) => l.includes(API_KEY) || l.includes('0123456789abcdef')), 'the API key is in no log line');
  });

  it('transient failures past maxRetries fail with SWY_UPSTREAM_UNAVAILABLE', async () => {
    const before = upstream.requests.length;
    upstream.enqueue(...Array.from({ length: 4 }, () => ({ type: 'status', status: 500 }) as const));
    const alice = await connect('alice');
    const taskId = await start('alice', 'down');
    const failed = await statusOf(alice, taskId, 'failed');
    assert.equal(upstream.requests.length - before, 4, '1 attempt + 3 retries');
    assert.equal(failed.data.error.code, ErrorCode.UPSTREAM_UNAVAILABLE);
    assert.match(failed.data.error.message, /after 4 attempt\(s\).*500/);
  });

  it('another user can neither see nor stop the task', async () => {
    upstream.enqueue({ type: 'stream', tokens: ['secret'], hold: true });
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    const taskId = await start('alice', 'mine');
    await alice.waitFor((f) => f.event === 'events' && f.data.chat_id === 'mine', 'first delta');
    assert.equal((await api(t.runtime, 'POST', `/api/tasks/stop/${taskId}`, 'bob')).status, 403);
    // Tasks belong to their owner: bob's view of chat "mine" is his own (empty), his stop-all stops nothing.
    assert.deepEqual(await api(t.runtime, 'GET', '/api/tasks/chat/mine', 'bob'), { status: 200, body: { task_ids: [] } });
    const bobStop = await api(t.runtime, 'POST', '/api/tasks/chat/mine/stop', 'bob');
    assert.deepEqual({ status: bobStop.status, ids: bobStop.body.task_ids }, { status: 200, ids: [] });
    assert.equal((await api(t.runtime, 'GET', '/api/tasks', 'bob')).status, 403);
    assert.ok(await t.runtime.tasks.find(taskId), 'still running');
    assert.equal(upstream.requests.at(-1)!.closedEarlyAt, null, 'bob’s attempts did not touch the upstream stream');
    assert.equal(bob.frames.filter((f) => f.event === 'events' || f.event === 'task:status').length, 0);
    const stopAll = await api(t.runtime, 'POST', '/api/tasks/chat/mine/stop', 'alice');
    assert.deepEqual(stopAll.body.task_ids, [taskId]);
    await statusOf(alice, taskId, 'cancelled');
  });

  it('max_tokens: the cap is sent when none is asked, a smaller one passes, a larger one is refused before the upstream', async () => {
    const before = upstream.requests.length;
    const alice = await connect('alice');
    const plain = await start('alice', 'cap-default');
    await statusOf(alice, plain, 'completed');
    const small = await start('alice', 'cap-small', { max_tokens: 10, temperature: 0.5 });
    await statusOf(alice, small, 'completed');
    const sent = upstream.requests.slice(before).map((r) => ({ max: r.body.max_tokens, temperature: r.body.temperature }));
    assert.deepEqual(sent, [{ max: 1_000, temperature: undefined }, { max: 10, temperature: 0.5 }]);

    const tooMany = await api(t.runtime, 'POST', '/api/tasks', 'alice', {
      kind: 'completion',
      item_id: 'chat:cap-big',
      input: { messages: [{ role: 'user', content: 'write a novel' }], max_tokens: 1_001 },
    });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.error.code, ErrorCode.BAD_REQUEST);
    assert.match(tooMany.body.error.message, /max_tokens: 1001 is over this server's cap of 1000/);
    // An unknown spelling of the same limit is dropped, never passed through.
    const other = await start('alice', 'cap-alias', { max_completion_tokens: 999_999 });
    await statusOf(alice, other, 'completed');
    assert.equal(upstream.requests.length - before, 3, 'the refused request never reached the upstream');
    const last = upstream.requests.at(-1)!.body;
    assert.deepEqual({ max: last.max_tokens, alias: last.max_completion_tokens }, { max: 1_000, alias: undefined });
    assert.deepEqual(await t.runtime.coordination.tasks.listByItem('chat:cap-big'), [], 'nothing registered');
  });

  it('only configured models reach the upstream: the default and allowedModels pass, any other is refused', async () => {
    const before = upstream.requests.length;
    const alice = await connect('alice');
    const alt = await start('alice', 'model-alt', { model: 'alt-model' });
    await statusOf(alice, alt, 'completed');
    const dflt = await start('alice', 'model-default', { model: 'default-model' });
    await statusOf(alice, dflt, 'completed');
    for (const model of ['gpt-4-32k', 'alt-model ', 'ALT-MODEL']) {
      const refused = await api(t.runtime, 'POST', '/api/tasks', 'alice', {
        kind: 'completion',
        item_id: 'chat:model-bad',
        input: { messages: [{ role: 'user', content: 'hi' }], model },
      });
      assert.equal(refused.status, 400, model);
      assert.equal(refused.body.error.code, ErrorCode.BAD_REQUEST);
      assert.match(refused.body.error.message, /is not allowed on this server; allowed: default-model, alt-model/);
    }
    assert.deepEqual(
      upstream.requests.slice(before).map((r) => r.body.model),
      ['alt-model', 'default-model'],
      'the upstream saw only allowed models',
    );
  });
});
