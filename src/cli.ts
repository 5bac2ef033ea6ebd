#!/usr/bin/env node
import { CliError } from './cli/ApiClient.js';
import { INGEST_USAGE, ingestCommand } from './cli/ingest.js';
import { STATUS_USAGE, statusCommand } from './cli/status.js';
import { TOKEN_USAGE, tokenCommand } from './cli/token.js';

const USAGE = `usage: switchyard <command> [options]

commands:
${TOKEN_USAGE}${INGEST_USAGE}${STATUS_USAGE}
The server is --url, else SWITCHYARD_URL, else http://127.0.0.1:$PORT (8080);
the token is --token, else SWITCHYARD_TOKEN.
`;

const io = { stdout: process.stdout, stderr: process.stderr };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'token':
      return tokenCommand(rest, io);
    case 'ingest':
      return ingestCommand(rest, io);
    case 'status':
      return statusCommand(rest, io);
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
    // parseArgs errors (unknown option, missing value) are usage errors too.
    const usage = err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof CliError ? err.exitCode : usage ? 2 : 1);
  },
);
