import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Base level. @default 'info' */
  level: LevelWithSilent;
  /** Per-component levels, e.g. `{ gateway: 'debug' }` (from LOG_LEVEL_GATEWAY). */
  components: Readonly<Record<string, LevelWithSilent>>;
  /** Written into every line. */
  instanceId: string;
}

/** Header and query fields that may carry credentials; pino writes "[Redacted]" instead. */
const REDACT = ['token', 'apiKey', 'api_key', 'authorization', '*.token', '*.apiKey', '*.authorization', 'req.headers.authorization'];

/**
 * Structured JSON lines. `forComponent(name)` gives a child logger whose level is
 * the component's own when one is configured.
 */
export class LogFactory {
  readonly root: Logger;
  constructor(private readonly options: LoggerOptions, destination?: pino.DestinationStream) {
    this.root = pino(
      {
        level: options.level,
        base: { instance: options.instanceId },
        redact: { paths: REDACT, censor: '[Redacted]' },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      destination ?? pino.destination({ dest: 1, sync: false }),
    );
  }

  forComponent(component: string): Logger {
    const level = this.options.components[component] ?? this.options.level;
    return this.root.child({ component }, { level });
  }

  flush(): void {
    this.root.flush();
  }
}

/** A logger that writes nothing, for unit tests of single components. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
