import type { Logger } from './log.js';

type Level = 'warn' | 'error' | 'info';

interface KeyState {
  logged: number;
  suppressed: number;
  windowStart: number;
  level: Level;
  message: string;
}

export interface LogLimitOptions {
  /** Lines logged per key in one window before the rest are only counted. */
  burst?: number;
  windowMs?: number;
  /** Keys tracked at once; a peer that invents a key per message cannot grow this. */
  maxKeys?: number;
  now?: () => number;
}

/**
 * A log line a peer can trigger at its own rate (a bad MQTT signal, a failing device, a broken HTTP
 * request): the first `burst` lines of a key per window are written, the rest counted, and one summary
 * line per key says how many were left out once the window has passed. Bytes written stay bounded
 * however fast the peer sends.
 */
export class LogLimiter {
  readonly #logger: Logger;
  readonly #burst: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #keys = new Map<string, KeyState>();
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, opts: LogLimitOptions = {}) {
    this.#logger = logger;
    this.#burst = opts.burst ?? 10;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#maxKeys = opts.maxKeys ?? 1000;
    this.#now = opts.now ?? Date.now;
  }

  warn(key: string, fields: object, message: string): void {
    this.#log('warn', key, fields, message);
  }

  error(key: string, fields: object, message: string): void {
    this.#log('error', key, fields, message);
  }

  /** Writes the summaries due now; called by the window timer and by tests. */
  flush(now = this.#now()): void {
    for (const [key, state] of this.#keys) {
      if (now - state.windowStart < this.#windowMs) continue;
      if (state.suppressed > 0) this.#summarize(key, state, now);
      this.#keys.delete(key);
    }
    if (this.#keys.size === 0) this.stop();
  }

  /** Stops the window timer; counts not yet summarized are dropped. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #log(level: Level, key: string, fields: object, message: string): void {
    const now = this.#now();
    let state = this.#keys.get(key);
    if (state && now - state.windowStart >= this.#windowMs) {
      if (state.suppressed > 0) this.#summarize(key, state, now);
      this.#keys.delete(key);
      state = undefined;
    }
    if (!state && this.#keys.size >= this.#maxKeys) {
      key = OVERFLOW_KEY;
      state = this.#keys.get(key);
    }
    if (!state) {
      state = { logged: 0, suppressed: 0, windowStart: now, level, message };
      this.#keys.set(key, state);
      this.#timer ??= setInterval(() => this.flush(), this.#windowMs).unref();
    }
    if (state.logged < this.#burst) {
      state.logged++;
      this.#logger[level](fields, message);
    } else state.suppressed++;
  }

  #summarize(key: string, state: KeyState, now: number): void {
    this.#logger[state.level](
      { key, suppressed: state.suppressed, window_s: Math.round((now - state.windowStart) / 1000) },
      `${state.message} (${state.suppressed} more like it not logged)`,
    );
    state.suppressed = 0;
  }
}

const OVERFLOW_KEY = '(other)';
