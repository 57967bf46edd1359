/**
 * What a protocol implements and what the agent holds of it: a target, its collector, and the scheme
 * descriptor that parses its URL and makes its collector. A leaf on purpose: it imports no collector,
 * so registry → scheme → collector → contract never loops back to the registry or to target.ts.
 */
import type { DeviceIdentity, DeviceKind, DeviceSnapshot } from '../agent/snapshot.js';
import type { MinerCredentials } from '../config/miner-credentials-schema.js';
import type { SnmpSettings } from '../config/snmp-schema.js';

/** One pollable endpoint, after ranges are expanded. */
export interface Target {
  /** Canonical URL, e.g. `cgminer://10.0.1.15:4028`; also the scheduler's key. */
  url: string;
  /** The name of a scheme in collectors/registry.ts. */
  scheme: string;
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
  /**
   * Set when other targets share this one's scheme, host and port with other credentials or parameters
   * (two SNMP communities on one agent): a digest of them, never them, which the device ids carry so
   * the targets' devices do not overwrite each other. Absent in the usual case, leaving ids as they were.
   */
  idQualifier?: string;
}

/** What ends a device id of `target`: `~<qualifier>` when it has one (`pdu/10.0.9.2~1f3a9c0e`), else nothing. */
export function idSuffix(target: Pick<Target, 'idQualifier'>): string {
  return target.idQualifier === undefined ? '' : `~${target.idQualifier}`;
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

/** out_of_range: a number outside its quantity's bounds · over_limit: an item past its list's cap. */
export type RejectReason = 'out_of_range' | 'over_limit';

/**
 * Told of every value left out of a reading (collectors/ranges.ts, or a collector's own cap): `field`
 * is a path of the snapshot (`boards.hashrate_hs`), a bounded set.
 */
export type RejectSink = (field: string, reason: RejectReason, count?: number) => void;

/** Settings every collector honours, from the `polling` section. */
export interface CollectorOptions {
  maxResponseBytes: number;
  /** Devices one target may report (polling.limits.devices_per_target); a multi-device collector reads no more. */
  maxDevices?: number;
  /** Told of what a collector leaves out itself (rows past maxDevices), to be counted as the scheduler counts its own cuts. */
  reject?: RejectSink;
  /** The `snmp:` section in force now (credentials, retries, max-repetitions). */
  snmpSettings?: () => SnmpSettings | undefined;
  /** The `miner_credentials:` section in force now: web API accounts by name. */
  minerCredentials?: () => MinerCredentials | undefined;
}

export interface ParsedTargetUrl<Scheme extends string = string> {
  scheme: Scheme;
  hosts: string[];
  port: number;
  userinfo?: string;
  params?: Readonly<Record<string, string>>;
  path?: string;
}

/** Checks one URL parameter's value: a problem to report, or undefined when the value is fine. */
export type ParamCheck = (value: string) => string | undefined;

/**
 * One target URL scheme: everything the agent knows of it lives here, in the protocol's folder
 * (`collectors/<protocol>/scheme.ts`), and collectors/registry.ts lists it in one line.
 */
export interface TargetSchemeDescriptor<Name extends string = string> {
  /** As written before `://`. */
  readonly name: Name;
  /** The port a URL without one gets; 0 when the scheme has none of its own. */
  readonly defaultPort: number;
  /** Query parameters it accepts (`snmp://public@10.0.0.9?profile=apc-rpdu2`), each with its check. */
  readonly params: Readonly<Record<string, ParamCheck>>;
  /** Whether its URL may carry userinfo (an SNMP community, an ssh user). */
  readonly takesUserinfo: boolean;
  /** The device kinds its collector reports. */
  readonly kinds: readonly DeviceKind[];
  /**
   * Its own URL grammar, where `scheme://[USERINFO@]HOSTS[:PORT][?PARAMS]` (HOSTS a range or CIDR) does
   * not fit; throws TargetError.
   */
  parse?(url: string): ParsedTargetUrl<Name>;
  /** Its own canonical URL, where `scheme://HOST:PORT[?sorted params]` does not fit. */
  canonicalUrl?(host: string, port: number, params?: Readonly<Record<string, string>>, path?: string): string;
  create(target: Target, options: CollectorOptions): Collector;
}

export class TargetError extends Error {}

/** A host as a URL writes it: an IPv6 address in brackets (`[fd00::15]`), anything else unchanged. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `HOST:PORT` for ids and messages, an IPv6 address bracketed so that its colons are not read as the port's. */
export function hostPort(host: string, port: number): string {
  return `${urlHost(host)}:${port}`;
}

/** `snmp://public@10.0.0.9` → `snmp://<secret>@10.0.0.9`, for messages and logs. */
export function redactUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1<secret>@');
}

/** A percent-encoded URL component, decoded; a TargetError naming the URL (credentials redacted) when it is malformed. */
export function decodeComponent(text: string, url: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TargetError(`bad percent-encoding in "${redactUserinfo(url)}"`);
  }
}
