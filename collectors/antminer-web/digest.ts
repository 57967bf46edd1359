/**
 * HTTP Digest access authentication (RFC 7616) as Antminer's web server (lighttpd, realm
 * "antMiner Configuration") asks for it: MD5, `qop=auth`. Small enough to write here rather than
 * take a dependency; SHA-256 and `auth-int` are not offered by the miners, so not implemented.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop?: string;
  opaque?: string;
  algorithm?: string;
}

/** The Digest challenge of a `WWW-Authenticate` header; undefined when it is not one this client answers. */
export function parseDigestChallenge(header: string | undefined): DigestChallenge | undefined {
  if (!header || !/^\s*digest\s/i.test(header)) return undefined;
  const fields: Record<string, string> = {};
  for (const m of header.replace(/^\s*digest\s+/i, '').matchAll(/([a-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/gi)) {
    fields[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  const { realm, nonce } = fields;
  if (realm === undefined || nonce === undefined) return undefined;
  const algorithm = fields['algorithm'];
  if (algorithm !== undefined && algorithm.toUpperCase() !== 'MD5') return undefined;
  const challenge: DigestChallenge = { realm, nonce };
  if (fields['qop'] !== undefined) challenge.qop = fields['qop'];
  if (fields['opaque'] !== undefined) challenge.opaque = fields['opaque'];
  if (algorithm !== undefined) challenge.algorithm = algorithm;
  return challenge;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The `Authorization` header answering `challenge` for GET `uri`; `cnonce` is random unless a test fixes it. */
export function digestAuthorization(challenge: DigestChallenge, user: string, password: string, uri: string, nc = 1, cnonce = randomBytes(8).toString('hex')): string {
  const ha1 = md5(`${user}:${challenge.realm}:${password}`);
  const ha2 = md5(`GET:${uri}`);
  const auth = challenge.qop?.split(',').some((q) => q.trim() === 'auth');
  const count = nc.toString(16).padStart(8, '0');
  const response = auth ? md5(`${ha1}:${challenge.nonce}:${count}:${cnonce}:auth:${ha2}`) : md5(`${ha1}:${challenge.nonce}:${ha2}`);
  const parts = [`username="${quote(user)}"`, `realm="${quote(challenge.realm)}"`, `nonce="${quote(challenge.nonce)}"`, `uri="${quote(uri)}"`];
  if (challenge.algorithm !== undefined) parts.push(`algorithm=${challenge.algorithm}`);
  if (auth) parts.push('qop=auth', `nc=${count}`, `cnonce="${cnonce}"`);
  parts.push(`response="${response}"`);
  if (challenge.opaque !== undefined) parts.push(`opaque="${quote(challenge.opaque)}"`);
  return `Digest ${parts.join(', ')}`;
}

/** Checks an Authorization header against the expected credentials: the simulator's side of the exchange. */
export function digestMatches(header: string | undefined, realm: string, user: string, password: string, method: string): boolean {
  if (!header?.startsWith('Digest ')) return false;
  const f: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/gi)) f[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  if (f['username'] !== user || f['realm'] !== realm || f['nonce'] === undefined || f['uri'] === undefined) return false;
  const ha1 = md5(`${user}:${realm}:${password}`);
  const ha2 = md5(`${method}:${f['uri']}`);
  const expected = f['qop'] === 'auth' ? md5(`${ha1}:${f['nonce']}:${f['nc']}:${f['cnonce']}:auth:${ha2}`) : md5(`${ha1}:${f['nonce']}:${ha2}`);
  return f['response'] === expected;
}

function quote(value: string): string {
  return value.replace(/(["\\])/g, '\\$1');
}
