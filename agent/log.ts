import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { REDACTED, redactSecrets } from './redact.js';
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
    redact: { paths: SECRET_PATHS, censor: REDACTED },
    // Values that carry a secret inside free text (a target URL with a community, a command's stderr in
    // an error) are not at a known path: their strings are redacted by pattern.
    formatters: { log: redactLogFields },
    // A stack trace is for debugging Potencia: below debug level an error is its type and one line.
    serializers: { err: (err: unknown) => (logger?.isLevelEnabled('debug') ? pino.stdSerializers.err(err as Error) : errorFields(err)) },
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

const SECRET_KEYS = ['password', 'passphrase', 'secret', 'token', 'auth_password', 'priv_password', 'community', 'authorization'];
/** Secrets at known paths, at the top level and up to two levels down (pino's `*` is one level). */
const SECRET_PATHS = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'req.headers.authorization',
  'req.headers.cookie',
  'config.mqtt.password',
  'config.snmp.credentials.*.auth_password',
  'config.snmp.credentials.*.priv_password',
];

/** Log fields with every string (and an error's message and stack) passed through redactSecrets, three levels deep. */
function redactLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactValue(fields, 0) as Record<string, unknown>;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 3 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const redacted = new Error(redactSecrets(value.message));
    redacted.name = value.name;
    redacted.stack = value.stack === undefined ? undefined : redactSecrets(value.stack);
    const code = (value as NodeJS.ErrnoException).code;
    if (code !== undefined) Object.assign(redacted, { code });
    return redacted;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactValue(item, depth + 1);
  return out;
}

/** For tests and one-shot commands that must print nothing but their result. */
export const silentLogger: Logger = pino({ level: 'silent' });
