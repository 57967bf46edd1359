import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { errorText } from './snapshot.js';

export type { Logger };

/**
 * JSON lines for journald / Docker / log shippers; human-readable when a person is watching a terminal.
 * Secrets never reach a log line: config values that came from `${file:…}` or passwords are redacted.
 */
export function createLogger(opts: { level?: LevelWithSilent; pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = opts.level ?? 'info';
  let logger: Logger | undefined;
  const options = {
    level,
    base: { app: 'potencia' },
    // A stack trace is for debugging Potencia: below debug level an error is its type and one line.
    serializers: { err: (err: unknown) => (logger?.isLevelEnabled('debug') ? pino.stdSerializers.err(err as Error) : errorFields(err)) },
    redact: { paths: ['*.password', '*.secret', '*.token', '*.*.password', 'config.mqtt.password'], censor: '<secret>' },
  };
  const usePretty = opts.pretty ?? (opts.destination === undefined && process.stdout.isTTY === true);
  logger = usePretty
    ? pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,app', sync: true }))
    : pino(options, (opts.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false }));
  return logger;
}

function errorFields(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return { type: err.name, message: errorText(err), ...(code !== undefined && { code }) };
}

/** For tests and one-shot commands that must print nothing but their result. */
export const silentLogger: Logger = pino({ level: 'silent' });
