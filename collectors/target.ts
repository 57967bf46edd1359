import type { DeviceIdentity, DeviceSnapshot } from '../agent/snapshot.js';
import { SNMP_PROFILE_NAMES } from './snmp/profiles/index.js';

/** Schemes a target URL may use; each has one collector registered in collectors/registry.ts. */
export const TARGET_SCHEMES = ['cgminer', 'snmp', 'nvidia-smi', 'nvidia-smi+ssh'] as const;
export type TargetScheme = (typeof TARGET_SCHEMES)[number];

/** 0: no port of its own (nvidia-smi runs locally; ssh picks its port from its config, else 22). */
export const DEFAULT_PORTS: Record<TargetScheme, number> = { cgminer: 4028, snmp: 161, 'nvidia-smi': 0, 'nvidia-smi+ssh': 0 };

/** Query parameters each scheme accepts (`snmp://public@10.0.0.9?profile=apc-rpdu2`), with their check. */
const TARGET_PARAMS: Record<TargetScheme, Record<string, (value: string) => string | undefined>> = {
  cgminer: {},
  snmp: {
    profile: (v) => {
      const unknown = v.split(',').filter((name) => !SNMP_PROFILE_NAMES.includes(name));
      return unknown.length ? `unknown SNMP profile "${unknown.join(', ')}" (known: ${SNMP_PROFILE_NAMES.join(', ')})` : undefined;
    },
    version: (v) => (['1', '2c'].includes(v) ? undefined : `version must be 1 or 2c (SNMPv3 users come from the snmp.credentials config: snmp://v3:NAME@HOST)`),
    context: () => undefined,
  },
  'nvidia-smi': {},
  'nvidia-smi+ssh': {},
};
/** Schemes whose URL may carry userinfo (an SNMP community or `v3:NAME`). */
const USERINFO_SCHEMES: ReadonlySet<TargetScheme> = new Set(['snmp']);

/** One pollable endpoint, after ranges are expanded. */
export interface Target {
  /** Canonical URL, e.g. `cgminer://10.0.1.15:4028`; also the scheduler's key. */
  url: string;
  scheme: TargetScheme;
  host: string;
  port: number;
  /** The URL's userinfo, decoded: an SNMP community or `v3:NAME`. A secret: never part of `url`. */
  userinfo?: string;
  /** The URL's query parameters (`profile`, `version`, …); part of `url`, sorted. */
  params?: Readonly<Record<string, string>>;
  /** The URL's path: for nvidia-smi targets, the binary to run. */
  path?: string;
  /** nvidia-smi targets: words run before the binary (`kubectl exec NODE --`, `sudo -n`), from config. */
  commandPrefix?: readonly string[];
  /** nvidia-smi+ssh targets: extra ssh arguments (`-i KEY`, `-o …`), from config. */
  sshOptions?: readonly string[];
  labels: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
}

/**
 * Turns one target into device readings. A target that cannot be read rejects, with a PollError that
 * says why; the scheduler then reports the target's devices down with that reason.
 */
export interface Collector {
  readonly target: Target;
  /**
   * `signal` aborts this poll. The scheduler hands a finished poll's signal on to a later poll until it
   * fires, so a listener added to it must be removed when the poll ends.
   */
  collect(signal: AbortSignal): Promise<DeviceSnapshot[]>;
  /** The device this target stands for before it has ever answered: a first poll that fails reports it down. */
  placeholder(): DeviceIdentity;
}

export class TargetError extends Error {}

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

export interface ParsedTargetUrl {
  scheme: TargetScheme;
  hosts: string[];
  port: number;
  userinfo?: string;
  params?: Readonly<Record<string, string>>;
  path?: string;
}

/**
 * Parses `cgminer://HOST[:PORT]` or `snmp://COMMUNITY@HOST[:PORT]?profile=…` where HOST may be a range
 * or CIDR. Plain string work rather than WHATWG URL, which rejects `10.0.1.10-200` and `/24` in the
 * authority.
 */
export function parseTargetUrl(url: string): ParsedTargetUrl {
  if (/^nvidia-smi(\+ssh)?:/i.test(url.trim())) return parseNvidiaSmiUrl(url.trim());
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^@/?#]*(?:\/\d{1,2})?)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  // The URL itself may hold a community: error messages name the scheme only.
  if (!m) throw new TargetError(`"${redactUserinfo(url)}" is not a target URL like cgminer://10.0.1.15:4028 or snmp://public@10.0.0.9`);
  const scheme = m[1]!.toLowerCase();
  if (!(TARGET_SCHEMES as readonly string[]).includes(scheme)) {
    throw new TargetError(`unknown scheme "${scheme}" in "${redactUserinfo(url)}" (known: ${TARGET_SCHEMES.join(', ')})`);
  }
  const s = scheme as TargetScheme;
  const userinfo = m[2] === undefined ? undefined : decodeComponent(m[2], url);
  if (userinfo !== undefined && !USERINFO_SCHEMES.has(s)) throw new TargetError(`${s}:// targets take no credentials ("${redactUserinfo(url)}")`);
  const params = m[4] === undefined ? undefined : parseParams(s, m[4], url);
  let authority = m[3]!;
  let port = DEFAULT_PORTS[s];
  const cidrSuffix = /\/\d{1,2}$/.exec(authority)?.[0] ?? '';
  authority = authority.slice(0, authority.length - cidrSuffix.length);
  const portMatch = /^(.*):(\d{1,5})$/.exec(authority);
  if (portMatch && !authority.startsWith('[')) {
    authority = portMatch[1]!;
    port = Number(portMatch[2]);
    if (port < 1 || port > 65535) throw new TargetError(`port ${port} out of range in "${url}"`);
  }
  if (!authority) throw new TargetError(`"${redactUserinfo(url)}" has no host`);
  const parsed: ParsedTargetUrl = { scheme: s, hosts: expandHosts(authority + cidrSuffix), port };
  if (userinfo !== undefined) parsed.userinfo = userinfo;
  if (params !== undefined) parsed.params = params;
  return parsed;
}

/** `snmp://public@10.0.0.9` → `snmp://<secret>@10.0.0.9`, for messages and logs. */
export function redactUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1<secret>@');
}

function decodeComponent(text: string, url: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TargetError(`bad percent-encoding in "${redactUserinfo(url)}"`);
  }
}

function parseParams(scheme: TargetScheme, query: string, url: string): Record<string, string> {
  const allowed = TARGET_PARAMS[scheme];
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
  if (scheme === 'nvidia-smi' || scheme === 'nvidia-smi+ssh') return nvidiaSmiUrl(scheme, host, port, path);
  const query = params ? Object.keys(params).sort().map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!)}`).join('&') : '';
  return `${scheme}://${host}:${port}${query ? `?${query}` : ''}`;
}

const NVIDIA_SMI_URL = /^(nvidia-smi(?:\+ssh)?):(?:\/\/(?:([^@/?#]*)@)?(\[[0-9a-fA-F:]+\]|[^/:?#]*)(?::(\d{1,5}))?(\/[^?#]*)?)?$/i;
const NODE_NAME = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9][A-Za-z0-9._-]*)$/;

/**
 * `nvidia-smi:` (this machine, nvidia-smi from PATH), `nvidia-smi:///opt/nvidia/bin/nvidia-smi` (a named
 * binary), `nvidia-smi://NODE[/PATH]` (a node reached through the target's command_prefix, e.g.
 * kubectl exec) and `nvidia-smi+ssh://[USER@]HOST[:PORT][/PATH]`. One node per URL: no ranges, since
 * each node is reached its own way.
 */
function parseNvidiaSmiUrl(url: string): ParsedTargetUrl {
  if (/[?#]/.test(url)) throw new TargetError(`"${redactUserinfo(url)}": nvidia-smi URLs take no parameters; per-target options (command_prefix, ssh_options) go in the config`);
  const m = NVIDIA_SMI_URL.exec(url);
  if (!m) throw new TargetError(`"${redactUserinfo(url)}" is not a URL like nvidia-smi:, nvidia-smi:///opt/bin/nvidia-smi or nvidia-smi+ssh://user@gpu-node-1`);
  const scheme = m[1]!.toLowerCase() as 'nvidia-smi' | 'nvidia-smi+ssh';
  const userinfo = m[2] === undefined ? undefined : decodeComponent(m[2], url);
  const host = m[3] ?? '';
  if (scheme === 'nvidia-smi' && (userinfo !== undefined || m[4] !== undefined)) {
    throw new TargetError(`"${redactUserinfo(url)}": nvidia-smi:// runs the command locally and takes no user or port; use nvidia-smi+ssh://USER@HOST:PORT`);
  }
  if (scheme === 'nvidia-smi+ssh' && host === '') throw new TargetError(`"${redactUserinfo(url)}" has no host`);
  if (host !== '' && !NODE_NAME.test(host)) throw new TargetError(`"${redactUserinfo(url)}": "${host}" is not a host name or address`);
  if (/^[\d.]+-[\d.]+$/.test(host)) throw new TargetError(`"${redactUserinfo(url)}": nvidia-smi targets name one node each, not a range`);
  const port = m[4] === undefined ? 0 : Number(m[4]);
  if (m[4] !== undefined && (port < 1 || port > 65535)) throw new TargetError(`port ${port} out of range in "${redactUserinfo(url)}"`);
  const parsed: ParsedTargetUrl = { scheme, hosts: [host || 'localhost'], port };
  if (userinfo !== undefined) parsed.userinfo = userinfo;
  const path = m[5] === undefined || m[5] === '/' ? undefined : decodeComponent(m[5], url);
  if (path !== undefined) parsed.path = path;
  return parsed;
}

function nvidiaSmiUrl(scheme: 'nvidia-smi' | 'nvidia-smi+ssh', host: string, port: number, path: string | undefined): string {
  const tail = path === undefined ? '' : encodeURI(path);
  if (scheme === 'nvidia-smi') return host === 'localhost' && tail === '' ? 'nvidia-smi:' : `nvidia-smi://${host === 'localhost' ? '' : host}${tail}`;
  return `nvidia-smi+ssh://${host}${port > 0 ? `:${port}` : ''}${tail}`;
}
