#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from './config/loadConfig.js';
import { resolveJwtSecret } from './config/secret.js';
import { TokenService } from './auth/tokens.js';

const USAGE = `usage: switchyard <command> [options]

commands:
  token --sub <user id> [--role user|admin] [--name <display name>] [--ttl <seconds>]
      Mints an HS256 token with the configured secret (JWT_SECRET, or the one in DATA_DIR).
`;

async function token(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { sub: { type: 'string' }, role: { type: 'string', default: 'user' }, name: { type: 'string' }, ttl: { type: 'string', default: '86400' } },
  });
  if (!values.sub) {
    process.stderr.write(`token: --sub is required\n${USAGE}`);
    return 2;
  }
  if (values.role !== 'user' && values.role !== 'admin') {
    process.stderr.write(`token: --role must be user or admin, got ${JSON.stringify(values.role)}\n`);
    return 2;
  }
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    process.stderr.write(`token: --ttl must be a positive whole number of seconds, got ${JSON.stringify(values.ttl)}\n`);
    return 2;
  }
  const { secret } = resolveJwtSecret(loadConfig());
  const jwt = await new TokenService(secret).sign({ sub: values.sub, role: values.role, name: values.name, ttlSeconds });
  process.stdout.write(`${jwt}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'token':
      return token(rest);
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command ? 0 : 2;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
