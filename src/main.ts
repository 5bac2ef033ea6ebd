#!/usr/bin/env node
import { loadConfig } from './config/loadConfig.js';
import { ConfigError, errorMessage } from './errors.js';
import { Runtime } from './runtime.js';

/**
 * Process entry: load the config once, start the runtime, and turn SIGTERM/SIGINT
 * into a graceful shutdown bounded by `shutdownTimeoutMs` (a second signal exits at once).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`switchyard: ${err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
    process.exit(78); // EX_CONFIG
  }

  const runtime = await Runtime.start(config);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      runtime.log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    runtime.stop(`signal ${signal}`).then(
      () => process.exit(0),
      (err: unknown) => {
        runtime.log.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (reason) => {
    runtime.log.error({ err: errorMessage(reason) }, 'unhandled rejection (a bug): please report it');
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`switchyard: failed to start: ${errorMessage(err)}\n`);
  process.exit(1);
});
