import './helpers/guard.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/loadConfig.js';
import { ConfigError } from '../src/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const defaults = JSON.parse(readFileSync(new URL('../../config/default.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function keys(o: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 ? keys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

test('defaults load, validate and are frozen', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.coordination, 'memory');
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.presence));
  assert.throws(() => {
    (config as { port: number }).port = 1;
  }, TypeError);
});

test('every setting in config/default.json is documented in the README table', () => {
  const undocumented = keys(defaults).filter((k) => !readme.includes(`| \`${k}\` |`));
  assert.deepEqual(undocumented, []);
});

test('env overrides: original names keep their unit (seconds) and meaning', () => {
  const config = loadConfig({ TIMEOUT_DURATION: '5', WEBSOCKET_REDIS_LOCK_TIMEOUT: '30', PORT: '9000', WEBUI_SECRET_KEY: 'x'.repeat(20), LOG_LEVEL_GATEWAY: 'debug' });
  assert.equal(config.presence.usageTimeoutMs, 5000);
  assert.equal(config.presence.lockTimeoutMs, 30_000);
  assert.equal(config.port, 9000);
  assert.equal(config.jwtSecret, 'x'.repeat(20));
  assert.equal(config.log.components.gateway, 'debug');
});

test('REDIS_URL alone selects cluster mode', () => {
  assert.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).coordination, 'redis');
  assert.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', COORDINATION: 'memory' }).coordination, 'memory');
});

test('a bad value fails naming the key, the value and the rule', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: '70000' }, /port \(from PORT\) = 70000: .*65535/],
    [{ PORT: 'eighty' }, /port \(from PORT\) = "eighty": .*number/],
    [{ COORDINATION: 'etcd' }, /coordination \(from COORDINATION\) = "etcd"/],
    [{ REDIS_URL: 'http://x' }, /redisUrl \(from REDIS_URL\) = "http:\/\/x": must start with redis:\/\//],
    [{ COORDINATION: 'redis' }, /redisUrl = null: is required when coordination is "redis"/],
    [{ JWT_SECRET: 'short' }, /jwtSecret \(from JWT_SECRET\) = "<redacted, 5 chars>"/], // never the value (config.redact.test.ts)
    [{ TIMEOUT_DURATION: '120' }, /presence.lockTimeoutMs = 60000: must be greater than presence.usageTimeoutMs/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
  }
});

test('SWITCHYARD_CONFIG file is merged between defaults and env; unknown keys are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ port: 7000, presence: { sweepBatch: 50 } }));
  const config = loadConfig({ SWITCHYARD_CONFIG: file, PORT: '7001' });
  assert.equal(config.port, 7001);
  assert.equal(config.presence.sweepBatch, 50);
  assert.equal(config.presence.usageTimeoutMs, 3000);
  writeFileSync(file, JSON.stringify({ prot: 1 }));
  assert.throws(() => loadConfig({ SWITCHYARD_CONFIG: file }), /prot/);
  writeFileSync(file, '{ not json');
  assert.throws(() => loadConfig({ SWITCHYARD_CONFIG: file }), /not valid JSON/);
});
