import './helpers/guard.js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, type Env } from '../src/config/loadConfig.js';
import { maskUrlPassword, redactValue } from '../src/config/redact.js';
import { ConfigError } from '../src/errors.js';

/** The ConfigError's message for `env` (fails the test when loading succeeds). */
function errorFor(env: Env, overrides: Record<string, unknown> = {}): string {
  try {
    loadConfig(env, overrides);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('loadConfig accepted the configuration');
}

describe('config errors never print secret values', () => {
  it('a short JWT_SECRET: names the key, the variable and the rule, shows only the length', () => {
    const message = errorFor({ JWT_SECRET: 'hunter2' });
    assert.match(message, /jwtSecret \(from JWT_SECRET\)/);
    assert.match(message, /<redacted, 7 chars>/);
    assert.match(message, />=16 characters/);
    assert.doesNotMatch(message, /hunter2/);
  });

  it('a short WEBUI_SECRET_KEY (the alias) is redacted the same way', () => {
    const message = errorFor({ WEBUI_SECRET_KEY: 'tiny-key' });
    assert.match(message, /jwtSecret \(from WEBUI_SECRET_KEY\) = "<redacted, 8 chars>"/);
    assert.doesNotMatch(message, /tiny-key/);
  });

  it('a bad REDIS_URL with a password: the URL is shown with *** for the password', () => {
    const message = errorFor({ REDIS_URL: 'redis//default:s3cr3t-pass@cache.internal:6379' });
    assert.match(message, /redisUrl \(from REDIS_URL\)/);
    assert.match(message, /must start with redis:\/\//);
    assert.match(message, /default:\*\*\*@cache\.internal/);
    assert.doesNotMatch(message, /s3cr3t-pass/);
  });

  it('a parseable URL with the wrong scheme keeps its host and user, masks the password', () => {
    const message = errorFor({ REDIS_URL: 'http://ops:p%40ss-word-1@cache.internal:6379/0' });
    assert.match(message, /ops:\*\*\*@cache\.internal:6379\/0/);
    assert.doesNotMatch(message, /p%40ss-word-1|p@ss-word-1/);
  });

  it('an API key given where a section is expected is redacted inside that section', () => {
    const message = errorFor({}, { tasks: { completion: 'not-an-object', timeoutMs: 'x' }, ingest: { embedding: { apiKey: 42 } } });
    assert.match(message, /ingest\.embedding\.apiKey = "<redacted>"/);
    assert.doesNotMatch(message, /42/);
  });

  it('a config file that is not JSON: its excerpt (which may hold a secret) is not quoted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-cfg-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"jwtSecret": never-shown-secret-value}');
    const message = errorFor({ SWITCHYARD_CONFIG: file });
    assert.match(message, /is not valid JSON/);
    assert.doesNotMatch(message, /never-shown/);
  });

  it('non-secret values are still shown in full (errors stay useful)', () => {
    const message = errorFor({ PORT: 'eighty' });
    assert.match(message, /port \(from PORT\) = "eighty"/);
  });
});

describe('redaction rules', () => {
  it('secret names: *secret*, *password*, *token*, *apiKey*, env spellings', () => {
    for (const name of ['jwtSecret', 'JWT_SECRET', 'WEBUI_SECRET_KEY', 'apiKey', 'EMBEDDING_API_KEY', 'dbPassword', 'refreshToken']) {
      assert.equal(redactValue(`a.${name}`, 'abcde'), '<redacted, 5 chars>', name);
    }
    assert.equal(redactValue('port', 8080), 8080);
  });

  it('URLs: password masked, a URL without one unchanged', () => {
    assert.equal(maskUrlPassword('postgres://app:pw123@db:5432/x'), 'postgres://app:***@db:5432/x');
    assert.equal(maskUrlPassword('redis://cache:6379'), 'redis://cache:6379');
    assert.equal(redactValue('databaseUrl', 'postgres://app:pw123@db/x'), 'postgres://app:***@db/x');
  });
});
