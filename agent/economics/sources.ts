/**
 * Live economic inputs: a figure fetched from a URL on an interval. A fetch that fails or returns
 * something unreadable keeps the last good value (and its time) and records why; the loop never
 * rejects and never overlaps itself. Staleness is judged against an explicit `now`, so callers and
 * tests decide the clock.
 *
 * The parsers below read the public APIs the config names; they accept numbers written as JSON
 * numbers or numeric strings, since these APIs and their clones differ on that.
 */

/** A reply larger than this is not a price; refuse it rather than buffer it. */
const MAX_BODY_BYTES = 1 << 20;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface LiveInputOptions<T> {
  /** What the figure is, for error messages: "bitcoin price". */
  name: string;
  url: string;
  /** Turns a reply body into the value; throws with a clear message when it cannot. */
  parse: (body: string) => T;
  intervalMs: number;
  /** Older than this, the value is stale. */
  maxAgeMs: number;
  /** Per fetch; defaults to the smaller of the interval and 10 s. */
  timeoutMs?: number;
  /** Clock for the time a value was fetched; Date.now by default. */
  now?: () => number;
}

export class LiveInput<T> {
  readonly name: string;
  readonly url: string;
  readonly intervalMs: number;
  readonly maxAgeMs: number;
  private current: { value: T; fetchedAt: number } | undefined;
  private failure: { message: string; at: number } | undefined;

  /** The last good value; undefined until one arrives. */
  get value(): T | undefined {
    return this.current?.value;
  }
  /** When the last good value was fetched (ms epoch). */
  get fetchedAt(): number | undefined {
    return this.current?.fetchedAt;
  }
  /** Why the latest fetch failed; cleared by the next good one. */
  get lastError(): string | undefined {
    return this.failure?.message;
  }
  get lastErrorAt(): number | undefined {
    return this.failure?.at;
  }

  private readonly parse: (body: string) => T;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private abort: AbortController | undefined;

  constructor(opts: LiveInputOptions<T>) {
    this.name = opts.name;
    this.url = opts.url;
    this.parse = opts.parse;
    this.intervalMs = opts.intervalMs;
    this.maxAgeMs = opts.maxAgeMs;
    this.timeoutMs = opts.timeoutMs ?? Math.min(opts.intervalMs, DEFAULT_TIMEOUT_MS);
    this.now = opts.now ?? Date.now;
  }

  /** Milliseconds since the last good value; undefined when there is none. */
  ageMs(now: number = this.now()): number | undefined {
    return this.fetchedAt === undefined ? undefined : Math.max(0, now - this.fetchedAt);
  }

  /** True when there is no value yet or it is older than maxAgeMs. */
  stale(now: number = this.now()): boolean {
    const age = this.ageMs(now);
    return age === undefined || age > this.maxAgeMs;
  }

  /** Fetches once now, unless a fetch is already running (then waits for that one). Never rejects. */
  refresh(): Promise<void> {
    this.inFlight ??= this.fetchOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Resolves when no fetch is in flight. */
  async whenIdle(): Promise<void> {
    await this.inFlight;
  }

  /** Fetches now and then every intervalMs after the previous fetch finished. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  /** Stops the loop, clears its timer and aborts a fetch in flight. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort(new Error('stopped'));
  }

  private async loop(): Promise<void> {
    await this.refresh();
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loop();
    }, this.intervalMs);
  }

  private async fetchOnce(): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    try {
      const res = await fetch(this.url, {
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(this.timeoutMs)]),
        headers: { accept: 'application/json, text/plain;q=0.9' },
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
      }
      const declared = Number(res.headers.get('content-length'));
      if (declared > MAX_BODY_BYTES) {
        await res.body?.cancel();
        throw new Error(`reply of ${declared} bytes is over the ${MAX_BODY_BYTES}-byte limit`);
      }
      const body = await res.text();
      if (body.length > MAX_BODY_BYTES) throw new Error(`reply is over the ${MAX_BODY_BYTES}-byte limit`);
      this.current = { value: this.parse(body), fetchedAt: this.now() };
      this.failure = undefined;
    } catch (err) {
      if (abort.signal.aborted) return; // stopped on purpose: not a fault of the source
      this.failure = { message: `${this.name} from ${this.url}: ${describeFetchError(err, this.timeoutMs)}`, at: this.now() };
    } finally {
      if (this.abort === abort) this.abort = undefined;
    }
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return `no reply within ${timeoutMs} ms`;
    // undici hides the socket error (ECONNREFUSED, ENOTFOUND) in `cause`.
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) return `${err.message}: ${cause.message}`;
    return err.message;
  }
  return String(err);
}

export class ParseError extends Error {}

/** A finite number from a JSON number or a numeric string. */
export function toNumber(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new ParseError(`${what} is not a number (got ${JSON.stringify(value)?.slice(0, 80)})`);
  return n;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new ParseError(`reply is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
  }
}

/** Reads a dotted path ("price.usd_per_kwh", "data.0.price") from parsed JSON; undefined where it leads nowhere. */
export function valueAtPath(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A number from a JSON body: the body itself when no path is given, else the value at the path. */
export function parseNumberAt(body: string, path?: string): number {
  const trimmed = body.trim();
  if (!path) {
    // A bare number is valid JSON; a numeric text/plain body is accepted too.
    return toNumber(/^-?[\d.]+(e[+-]?\d+)?$/i.test(trimmed) ? Number(trimmed) : parseJson(trimmed), 'reply');
  }
  const value = valueAtPath(parseJson(trimmed), path);
  if (value === undefined) throw new ParseError(`reply has nothing at "${path}"`);
  return toNumber(value, `"${path}"`);
}

/** BTC in USD from a CoinGecko `/simple/price?ids=bitcoin&vs_currencies=usd` reply: `{"bitcoin":{"usd":91000}}`. */
export function parseCoinGeckoBtcUsd(body: string): number {
  const price = toNumber(valueAtPath(parseJson(body), 'bitcoin.usd'), 'bitcoin.usd');
  if (!(price > 0)) throw new ParseError(`bitcoin.usd must be positive, got ${price}`);
  return price;
}

/**
 * Current difficulty from mempool.space. The documented `/api/v1/mining/hashrate/:period` reply
 * carries `currentDifficulty`; `/api/v1/mining/difficulty-adjustments` rows `[time, height,
 * difficulty, change]` (the highest height is taken), `{difficulty}` and a bare number are accepted too.
 * (`/api/v1/difficulty-adjustment` does not carry the difficulty itself, only the coming change.)
 */
export function parseMempoolDifficulty(body: string): number {
  const json = parseJson(body);
  let difficulty: number;
  if (typeof json === 'number' || typeof json === 'string') difficulty = toNumber(json, 'difficulty');
  else if (Array.isArray(json)) {
    const rows = json.filter((r): r is unknown[] => Array.isArray(r) && r.length >= 3);
    if (rows.length === 0) throw new ParseError('difficulty-adjustments reply has no [time, height, difficulty] rows');
    const newest = rows.reduce((a, b) => (toNumber(b[1], 'height') > toNumber(a[1], 'height') ? b : a));
    difficulty = toNumber(newest[2], 'difficulty');
  } else if (json !== null && typeof json === 'object') {
    const obj = json as Record<string, unknown>;
    const raw = obj.currentDifficulty ?? obj.difficulty;
    if (raw === undefined) throw new ParseError('reply has neither currentDifficulty nor difficulty');
    difficulty = toNumber(raw, 'currentDifficulty');
  } else throw new ParseError('reply is not a difficulty');
  if (!(difficulty > 0)) throw new ParseError(`difficulty must be positive, got ${difficulty}`);
  return difficulty;
}

/** The tip height from `/api/blocks/tip/height` (a plain-text integer). */
export function parseTipHeight(body: string): number {
  const height = toNumber(body.trim(), 'tip height');
  if (!Number.isInteger(height) || height < 0) throw new ParseError(`tip height must be a non-negative integer, got ${height}`);
  return height;
}

/**
 * Mean fees per block in BTC from `/api/v1/mining/reward-stats/:blockCount`:
 * `{"startBlock":…,"endBlock":…,"totalReward":"…","totalFee":"…","totalTx":"…"}`, amounts in
 * satoshis (strings on mempool.space). The block count is endBlock − startBlock + 1 when both are
 * there, else the count the URL asked for.
 */
export function parseRewardStatsFeesPerBlock(body: string, requestedBlocks: number): number {
  const json = parseJson(body);
  if (json === null || typeof json !== 'object') throw new ParseError('reward-stats reply is not an object');
  const obj = json as Record<string, unknown>;
  if (obj.totalFee === undefined) throw new ParseError('reward-stats reply has no totalFee');
  const totalFeeSats = toNumber(obj.totalFee, 'totalFee');
  let blocks = requestedBlocks;
  if (obj.startBlock !== undefined && obj.endBlock !== undefined) {
    const span = toNumber(obj.endBlock, 'endBlock') - toNumber(obj.startBlock, 'startBlock') + 1;
    if (span > 0) blocks = span;
  }
  if (totalFeeSats < 0) throw new ParseError(`totalFee must not be negative, got ${totalFeeSats}`);
  return totalFeeSats / blocks / 100_000_000;
}
