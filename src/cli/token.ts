import { parseArgs } from 'node:util';
import { TokenService } from '../auth/tokens.js';
import { loadConfig } from '../config/loadConfig.js';
import { resolveJwtSecret } from '../config/secret.js';
import { CliError } from './ApiClient.js';

export const TOKEN_USAGE = `  token --sub <user id> [--role user|admin] [--name <display name>] [--ttl <seconds>]
      Mints an HS256 token with the configured secret (JWT_SECRET, or the one in DATA_DIR).
`;

export async function tokenCommand(args: string[], io: { stdout: NodeJS.WritableStream }): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { sub: { type: 'string' }, role: { type: 'string', default: 'user' }, name: { type: 'string' }, ttl: { type: 'string', default: '86400' } },
  });
  if (!values.sub) throw new CliError(`token: --sub is required\n${TOKEN_USAGE}`, 2);
  if (values.role !== 'user' && values.role !== 'admin') throw new CliError(`token: --role must be user or admin, got ${JSON.stringify(values.role)}`, 2);
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new CliError(`token: --ttl must be a positive whole number of seconds, got ${JSON.stringify(values.ttl)}`, 2);
  }
  const { secret } = resolveJwtSecret(loadConfig());
  const jwt = await new TokenService(secret).sign({ sub: values.sub, role: values.role, name: values.name, ttlSeconds });
  io.stdout.write(`${jwt}\n`);
  return 0;
}
