import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** What checking one Authorization header came to. */
export type AuthVerdict = 'ok' | 'denied' | 'busy';

export interface BasicAuthLimits {
  /** Successful verifications remembered, so a scrape every few seconds does not pay bcrypt each time. */
  cacheEntries: number;
  /** bcrypt runs at once; past it a request is answered 503 rather than queued (bcrypt is slow on purpose). */
  concurrentHashes: number;
  /** Longest Authorization header read; a longer one is denied unread. */
  maxHeaderChars: number;
}

const DEFAULT_LIMITS: BasicAuthLimits = { cacheEntries: 256, concurrentHashes: 2, maxHeaderChars: 4096 };

/**
 * A user unknown to the file is checked against this hash too, so a wrong user takes as long as a
 * wrong password and the response time does not tell which user names exist.
 */
const UNKNOWN_USER_HASH = '$2b$10$bmGUZbr6IbvQoLuDV/Kuw.7P6SuI2IPVUAyEaZPy6Jz7qgMFD90UG';

/**
 * HTTP basic auth against bcrypt hashes, as exporter-toolkit does it: the hash is compared in constant
 * time, and a verified (user, password, hash) is cached by its SHA-256 so only the first scrape pays.
 */
export class BasicAuth {
  readonly #users: ReadonlyMap<string, string>;
  readonly #limits: BasicAuthLimits;
  /** SHA-256 of user, password and hash → true; a Map keeps insertion order, so the oldest goes first. */
  readonly #verified = new Map<string, true>();
  #hashing = 0;

  constructor(users: Readonly<Record<string, string>>, limits: Partial<BasicAuthLimits> = {}) {
    this.#users = new Map(Object.entries(users));
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  async check(header: string | undefined): Promise<AuthVerdict> {
    const credentials = parseBasic(header, this.#limits.maxHeaderChars);
    if (credentials === undefined) return 'denied';
    const { user, password } = credentials;
    const known = this.#users.get(user);
    const hash = known ?? UNKNOWN_USER_HASH;
    const key = createHash('sha256').update(user).update('\0').update(password).update('\0').update(hash).digest('base64');
    if (known !== undefined && this.#verified.has(key)) return 'ok';
    if (this.#hashing >= this.#limits.concurrentHashes) return 'busy';
    this.#hashing++;
    let matches: boolean;
    try {
      matches = await verifyBcrypt(password, hash);
    } finally {
      this.#hashing--;
    }
    if (!matches || known === undefined) return 'denied';
    this.#verified.set(key, true);
    if (this.#verified.size > this.#limits.cacheEntries) this.#verified.delete(this.#verified.keys().next().value!);
    return 'ok';
  }
}

async function verifyBcrypt(password: string, hash: string): Promise<boolean> {
  // The salt and cost are the hash's first 29 characters; bcrypt of the password under them must equal it.
  let computed: string;
  try {
    computed = await bcrypt.hash(password, hash.slice(0, 29));
  } catch {
    return false;
  }
  const expected = Buffer.from(hash);
  const actual = Buffer.from(computed);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function parseBasic(header: string | undefined, maxChars: number): { user: string; password: string } | undefined {
  if (header === undefined || header.length > maxChars) return undefined;
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
