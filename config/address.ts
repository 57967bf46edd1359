import { isIPv4, isIPv6 } from 'node:net';

const HOSTNAME_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * Why `host` cannot be connected to, in one line; undefined for an IPv4 address, an IPv6 address (bare, as
 * a parsed target holds it, or in brackets, as a listen address writes it) or a DNS name.
 */
export function hostProblem(host: string): string | undefined {
  if (host.startsWith('[')) return host.endsWith(']') && isIPv6(host.slice(1, -1)) ? undefined : `"${host}" is not an IPv6 address in brackets like [fd00::15]`;
  if (isIPv6(host)) return undefined;
  if (/^[\d.]+$/.test(host)) return isIPv4(host) ? undefined : `"${host}" is not an IPv4 address (four numbers 0-255)`;
  if (host.includes(':')) return `"${host}" is not a host: a port must be a number from 1 to 65535`;
  if (host.length > 253 || !host.split('.').every((label) => HOSTNAME_LABEL.test(label))) return `"${host}" is not a host name`;
  return undefined;
}

/** Why a HOST:PORT to listen on is not one; an empty HOST means every interface, port 0 any free port. */
export function listenProblem(listen: string): string | undefined {
  const m = /^(.*):(\d{1,5})$/.exec(listen);
  if (!m) return `expected HOST:PORT like "0.0.0.0:9785" or ":9785", got "${listen}"`;
  if (Number(m[2]) > 65535) return `port ${m[2]} is out of range (0-65535) in "${listen}"`;
  if (m[1]!.includes(':') && !m[1]!.startsWith('[')) return `"${m[1]}" is an IPv6 address without brackets: write [${m[1]}]:${m[2]}`;
  return m[1] === '' ? undefined : hostProblem(m[1]!);
}
