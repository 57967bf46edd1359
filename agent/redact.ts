import type { DeviceSnapshot, PoolSnapshot } from './snapshot.js';

/** What a secret becomes wherever the agent's data leaves it: /api, MQTT, logs, errors. */
export const REDACTED = '<secret>';

/** `scheme://user:password@`: the password part; the user stays (a pool's worker name is not secret). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s/?#@:]*):[^\s/?#@]*@/gi;
/** An SNMP URL's userinfo is its community, which is a password. */
const SNMP_COMMUNITY = /\b(snmp:\/\/)[^\s/?#@]+@/gi;
/** `password=…`, `token: …` and their kin, as stderr and config dumps print them. */
const KEY_VALUE =
  /\b((?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?password|priv[_-]?password|community)\s*[=:]\s*)(?!<secret>)("[^"]*"|'[^']*'|[^\s,;&"']+)/gi;
/** `Authorization: Bearer …` / `Basic …`: the whole credential. */
const AUTHORIZATION = /\b((?:proxy-)?authorization\s*[:=]\s*)(?:(?:bearer|basic|digest|token)\s+)?[^\s,;]+/gi;
/** A PEM private key, whole or cut off by a length cap. */
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

/** A URL with its password (and an SNMP URL's community) replaced; anything else unchanged. */
export function redactUrl(url: string): string {
  if (!url.includes('@')) return url;
  return url.replace(SNMP_COMMUNITY, `$1${REDACTED}@`).replace(URL_PASSWORD, `$1:${REDACTED}@`);
}

/**
 * Free text (an error, a command's stderr) with everything that looks like a credential replaced:
 * URL passwords, `password=`/`token=` values, Authorization headers and PEM private keys.
 */
export function redactSecrets(text: string): string {
  // Most texts hold none of the markers: skip the regular expressions for them.
  if (!/[:=@]|PRIVATE KEY/i.test(text)) return text;
  return redactUrl(text)
    .replace(PRIVATE_KEY, REDACTED)
    .replace(AUTHORIZATION, `$1${REDACTED}`)
    .replace(KEY_VALUE, (_match, key: string) => `${key}${REDACTED}`);
}

/**
 * A snapshot as it may leave the agent (/api, MQTT): its target URL without a community or password,
 * pool URLs without passwords and an error without credentials. Returns the same object when nothing
 * needed redacting, so the common case allocates nothing.
 */
export function redactSnapshot<T extends DeviceSnapshot>(snapshot: T): T {
  const target = redactUrl(snapshot.target);
  const error = snapshot.error === undefined ? undefined : redactSecrets(snapshot.error);
  const pools = snapshot.pools && redactPools(snapshot.pools);
  if (target === snapshot.target && error === snapshot.error && pools === snapshot.pools) return snapshot;
  return { ...snapshot, target, ...(error !== undefined && { error }), ...(pools !== undefined && { pools }) };
}

function redactPools(pools: PoolSnapshot[]): PoolSnapshot[] {
  let out: PoolSnapshot[] | undefined;
  pools.forEach((pool, i) => {
    const url = redactUrl(pool.url);
    if (url === pool.url) return;
    out ??= pools.slice();
    out[i] = { ...pool, url };
  });
  return out ?? pools;
}
