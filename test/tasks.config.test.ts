import './helpers/guard.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/loadConfig.js';
import { ErrorCode } from '../src/errors.js';

/** The task limits' settings: defaults, environment names, validation. */
describe('task limit settings', () => {
  it('defaults: 32 running tasks per user, max_tokens cap 4096, no extra models', () => {
    const { tasks } = loadConfig({});
    assert.equal(tasks.maxPerUser, 32);
    assert.equal(tasks.completion.maxTokens, 4_096);
    assert.deepEqual(tasks.completion.allowedModels, []);
  });

  it('environment: TASKS_MAX_PER_USER, TASK_COMPLETION_MAX_TOKENS, TASK_COMPLETION_ALLOWED_MODELS (comma-separated)', () => {
    const { tasks } = loadConfig({ TASKS_MAX_PER_USER: '5', TASK_COMPLETION_MAX_TOKENS: '256', TASK_COMPLETION_ALLOWED_MODELS: 'llama3, mistral,,' });
    assert.deepEqual([tasks.maxPerUser, tasks.completion.maxTokens, tasks.completion.allowedModels], [5, 256, ['llama3', 'mistral']]);
  });

  it('a bad value fails at start, naming the key and the variable', () => {
    assert.throws(() => loadConfig({ TASKS_MAX_PER_USER: '0' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, ErrorCode.CONFIG_INVALID);
      assert.match(err.message, /tasks\.maxPerUser/);
      assert.match(err.message, /TASKS_MAX_PER_USER/);
      return true;
    });
    assert.throws(() => loadConfig({ TASK_COMPLETION_MAX_TOKENS: 'lots' }), /tasks\.completion\.maxTokens/);
  });
});
