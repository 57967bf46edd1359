import type { DeviceSnapshot } from '../agent/snapshot.js';

/** Schemes a target URL may use; each has one collector registered in collectors/registry.ts. */
export const TARGET_SCHEMES = ['cgminer'] as const;
export type TargetScheme = (typeof TARGET_SCHEMES)[number];

export const DEFAULT_PORTS: Record<TargetScheme, number> = { cgminer: 4028 };

/** One pollable endpoint, after ranges are expanded. */
export interface Target {
  /** Canonical URL, e.g. `cgminer://10.0.1.15:4028`; also the scheduler's key. */
  url: string;
  scheme: TargetScheme;
  host: string;
  port: number;
  labels: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
}

/** Turns one target into device readings. Never rejects for a device fault: it returns the device with up=false. */
export interface Collector {
  readonly target: Target;
  collect(signal: AbortSignal): Promise<DeviceSnapshot[]>;
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
}

/**
 * Parses `cgminer://HOST[:PORT]` where HOST may be a range or CIDR. Plain string work rather than
 * WHATWG URL, which rejects `10.0.1.10-200` and `/24` in the authority.
 */
export function parseTargetUrl(url: string): ParsedTargetUrl {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*(?:\/\d{1,2})?)\/?$/i.exec(url.trim());
  if (!m) throw new TargetError(`"${url}" is not a target URL like cgminer://10.0.1.15:4028`);
  const scheme = m[1]!.toLowerCase();
  if (!(TARGET_SCHEMES as readonly string[]).includes(scheme)) {
    throw new TargetError(`unknown scheme "${scheme}" in "${url}" (known: ${TARGET_SCHEMES.join(', ')})`);
  }
  const s = scheme as TargetScheme;
  let authority = m[2]!;
  let port = DEFAULT_PORTS[s];
  const cidrSuffix = /\/\d{1,2}$/.exec(authority)?.[0] ?? '';
  authority = authority.slice(0, authority.length - cidrSuffix.length);
  const portMatch = /^(.*):(\d{1,5})$/.exec(authority);
  if (portMatch && !authority.startsWith('[')) {
    authority = portMatch[1]!;
    port = Number(portMatch[2]);
    if (port < 1 || port > 65535) throw new TargetError(`port ${port} out of range in "${url}"`);
  }
  if (!authority) throw new TargetError(`"${url}" has no host`);
  return { scheme: s, hosts: expandHosts(authority + cidrSuffix), port };
}

export function canonicalUrl(scheme: TargetScheme, host: string, port: number): string {
  return `${scheme}://${host}:${port}`;
}
