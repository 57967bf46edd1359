import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * JSON lines for journald / Docker / log shippers; human-readable when a person is watching a terminal.
 * Secrets never reach a log line: config values that came from `${file:…}` or passwords are redacted.
 */
export function createLogger(opts: { level?: LevelWithSilent; pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = opts.level ?? 'info';
  const options = {
    level,
    base: { app: 'potencia' },
    redact: { paths: ['*.password', '*.secret', '*.token', '*.*.password', 'config.mqtt.password'], censor: '<secret>' },
  };
  const usePretty = opts.pretty ?? (opts.destination === undefined && process.stdout.isTTY === true);
  if (usePretty) return pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,app', sync: true }));
  return pino(options, (opts.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false }));
}

/** For tests and one-shot commands that must print nothing but their result. */
export const silentLogger: Logger = pino({ level: 'silent' });
