import { isIPv6 } from 'node:net';
import { decodeComponent, redactUserinfo, TargetError, urlHost, type ParamCheck, type ParsedTargetUrl } from './contract.js';
import { schemeNamed, TARGET_SCHEMES, type TargetScheme } from './registry.js';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function ipv4ToInt(ip: string): number | undefined {
  const m = IPV4.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The most hosts one range may expand to: a /16, the size of the largest farms' flat networks. */
export const MAX_RANGE_HOSTS = 65_536;

/**
 * Expands a host spec into hosts: a name or address, a CIDR (`10.0.2.0/24`, network and broadcast
 * addresses dropped for prefixes below /31), or a range (`10.0.1.10-10.0.1.200` or `10.0.1.10-200`).
 */
export function expandHosts(spec: string): string[] {
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(spec);
  if (cidr) {
    const base = ipv4ToInt(cidr[1]!);
    const prefix = Number(cidr[2]);
    if (base === undefined || prefix > 32) throw new TargetError(`"${spec}" is not an IPv4 CIDR`);
    const size = 2 ** (32 - prefix);
    if (size > MAX_RANGE_HOSTS * 4) throw new TargetError(`"${spec}" spans ${size} addresses; split it (at most ${MAX_RANGE_HOSTS} per range)`);
    const network = prefix === 0 ? 0 : (base & ((0xffffffff << (32 - prefix)) >>> 0)) >>> 0;
    const first = prefix >= 31 ? network : network + 1;
    const last = prefix >= 31 ? network + size - 1 : network + size - 2;
    return rangeOf(spec, first, last);
  }
  const range = /^([\d.]+)-([\d.]+)$/.exec(spec);
  if (range) {
    const start = ipv4ToInt(range[1]!);
    let end = ipv4ToInt(range[2]!);
    if (end === undefined && start !== undefined && /^\d{1,3}$/.test(range[2]!) && Number(range[2]) <= 255) {
      end = ((start & 0xffffff00) >>> 0) + Number(range[2]);
    }
    if (start === undefined || end === undefined) throw new TargetError(`"${spec}" is not an IPv4 range like 10.0.1.10-10.0.1.200 or 10.0.1.10-200`);
    if (end < start) throw new TargetError(`range "${spec}" ends before it starts`);
    return rangeOf(spec, start, end);
  }
  if (!/^[A-Za-z0-9.\-_:[\]]+$/.test(spec)) throw new TargetError(`"${spec}" is not a host, an IPv4 range or a CIDR`);
  return [spec];
}

function rangeOf(spec: string, first: number, last: number): string[] {
  const count = last - first + 1;
  if (count > MAX_RANGE_HOSTS) throw new TargetError(`"${spec}" spans ${count} addresses; at most ${MAX_RANGE_HOSTS} per range`);
  const hosts: string[] = new Array(count);
  for (let i = 0; i < count; i++) hosts[i] = intToIpv4(first + i);
  return hosts;
}

/**
 * Why a target list is refused when its URLs expand past `budget` endpoints together (polling.limits.endpoints):
 * a config of sixteen /16s would otherwise pass and leave the daemon to die at the heap limit. Undefined
 * within the budget; a URL that does not parse counts as none, as it is reported on its own.
 */
export function endpointBudgetProblem(urls: readonly string[], budget: number): string | undefined {
  let count = 0;
  for (const url of urls) {
    try {
      count += parseTargetUrl(url).hosts.length;
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
    }
  }
  return count > budget ? endpointBudgetMessage(count, budget) : undefined;
}

export function endpointBudgetMessage(count: number, budget: number): string {
  return `the targets expand to ${count.toLocaleString('en-US')} endpoints, over polling.limits.endpoints (${budget.toLocaleString('en-US')}): split the ranges across agents or raise the limit`;
}

/**
 * Parses `cgminer://HOST[:PORT]` or `snmp://COMMUNITY@HOST[:PORT]?profile=…` where HOST may be a range
 * or CIDR. Plain string work rather than WHATWG URL, which rejects `10.0.1.10-200` and `/24` in the
 * authority.
 */
export function parseTargetUrl(url: string): ParsedTargetUrl<TargetScheme> {
  const own = schemeNamed(/^([a-z][a-z0-9+.-]*):/i.exec(url.trim())?.[1]?.toLowerCase() ?? '');
  if (own?.parse) return own.parse(url.trim());
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^@/?#]*(?:\/\d{1,2})?)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  // The URL itself may hold a community: error messages name the scheme only.
  if (!m) throw new TargetError(`"${redactUserinfo(url)}" is not a target URL like cgminer://10.0.1.15:4028 or snmp://public@10.0.0.9`);
  const scheme = m[1]!.toLowerCase();
  const s = schemeNamed(scheme);
  if (!s) throw new TargetError(`unknown scheme "${scheme}" in "${redactUserinfo(url)}" (known: ${TARGET_SCHEMES.join(', ')})`);
  const userinfo = m[2] === undefined ? undefined : decodeComponent(m[2], url);
  if (userinfo !== undefined && !s.takesUserinfo) throw new TargetError(`${s.name}:// targets take no credentials ("${redactUserinfo(url)}")`);
  const params = m[4] === undefined ? undefined : parseParams(s.name, s.params, m[4], url);
  let authority = m[3]!;
  let port = s.defaultPort;
  const cidrSuffix = /\/\d{1,2}$/.exec(authority)?.[0] ?? '';
  authority = authority.slice(0, authority.length - cidrSuffix.length);
  const { host, port: givenPort } = splitHostPort(authority, url);
  if (givenPort !== undefined) port = givenPort;
  if (!host) throw new TargetError(`"${redactUserinfo(url)}" has no host`);
  if (cidrSuffix && host.includes(':')) throw new TargetError(`"${redactUserinfo(url)}": IPv6 ranges and CIDRs are not supported; list the addresses one per URL`);
  const parsed: ParsedTargetUrl<TargetScheme> = { scheme: s.name, hosts: host.includes(':') ? [host] : expandHosts(host + cidrSuffix), port };
  if (userinfo !== undefined) parsed.userinfo = userinfo;
  if (params !== undefined) parsed.params = params;
  return parsed;
}

/**
 * `HOST[:PORT]` → host and port. An IPv6 address comes in brackets (`[fd00::15]:4028`) and leaves without
 * them, as sockets want it; canonicalUrl() puts them back. A bare `fd00::15` is refused rather than read
 * as host `fd00:` and port 15.
 */
export function splitHostPort(authority: string, url: string): { host: string; port?: number } {
  let host = authority;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(\d{1,5}))?$/.exec(authority);
    if (!m || !isIPv6(m[1]!)) throw new TargetError(`"${redactUserinfo(url)}": "${authority}" is not an IPv6 address in brackets like [fd00::15] or [fd00::15]:4028`);
    host = m[1]!;
    portText = m[2];
  } else {
    if ((authority.match(/:/g)?.length ?? 0) > 1) {
      throw new TargetError(`"${redactUserinfo(url)}": an IPv6 address goes in brackets, like [${isIPv6(authority) ? authority : 'fd00::15'}]:4028`);
    }
    const m = /^(.*):(\d{1,5})$/.exec(authority);
    if (m) {
      host = m[1]!;
      portText = m[2];
    }
  }
  if (portText === undefined) return { host };
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new TargetError(`port ${port} out of range in "${redactUserinfo(url)}"`);
  return { host, port };
}

function parseParams(scheme: TargetScheme, allowed: Readonly<Record<string, ParamCheck>>, query: string, url: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), url);
    const value = decodeComponent(eq < 0 ? '' : pair.slice(eq + 1), url);
    const check = allowed[name];
    if (!check) {
      const known = Object.keys(allowed);
      throw new TargetError(`"${redactUserinfo(url)}": unknown parameter "${name}" (${known.length ? `known: ${known.join(', ')}` : `${scheme}:// takes none`})`);
    }
    const problem = check(value);
    if (problem) throw new TargetError(`"${redactUserinfo(url)}": ${problem}`);
    params[name] = value;
  }
  return params;
}

/** The scheduler's key for one endpoint: scheme, host, port and sorted parameters; never the credentials. */
export function canonicalUrl(scheme: TargetScheme, host: string, port: number, params?: Readonly<Record<string, string>>, path?: string): string {
  const own = schemeNamed(scheme)?.canonicalUrl;
  if (own) return own(host, port, params, path);
  const query = params
    ? Object.keys(params)
        .sort()
        .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!)}`)
        .join('&')
    : '';
  return `${scheme}://${urlHost(host)}:${port}${query ? `?${query}` : ''}`;
}
