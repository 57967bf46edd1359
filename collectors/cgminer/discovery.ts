/**
 * Finding miners on a network in two stages, because the two costs differ by orders of magnitude:
 *
 * 1. probe: a TCP connect to the API port of every address, many at once, closed the moment it opens
 *    without sending a byte (cgminer's API serves one client at a time; holding it stalls the miner's
 *    other pollers). On a /16 almost every address is silent, and a refused or unanswered connect is
 *    cheap, so this stage runs at high concurrency.
 * 2. identify: only the open ports get a real CGMiner poll (`summary+stats+pools`, then `version` when
 *    those do not name the model or firmware), read by the same dialects the collector uses, at the
 *    lower concurrency a poll sweep uses.
 *
 * Memory stays bounded on a /16: per address only the host string while it waits its turn; results
 * are kept for open ports only, and silent addresses are counted, listed only on request.
 *
 * Other protocols (`protocols`: the Whatsminer API v3, the vendors' web APIs) join both stages: their
 * ports are probed beside 4028, and a host's open ports are identified by each protocol that listens
 * there. A host that answers several is one miner, reported with the richest protocol that named its
 * model (the first in `protocols` order, before the CGMiner API), the others listed in `also`.
 */
import { setMaxListeners } from 'node:events';
import { connect, type Socket } from 'node:net';
import { errorText, PollError, type DeviceSnapshot, type ErrorReason } from '../../agent/snapshot.js';
import type { TargetScheme } from '../registry.js';
import { canonicalUrl, expandHosts, ipv4ToInt } from '../target.js';
import { hostPort, type Target } from '../contract.js';
import { cgminerRequest } from './client.js';
import { normalizeReply } from './dialects/index.js';
import { CgminerError } from './errors.js';
import { pollCgminer } from './poll.js';
import { parseCgminerJson } from './repair.js';
import { statusOf, toCgminerReply, type CgminerReply } from './reply.js';

export const DEFAULT_SCAN_PORT = 4028;
/** Stays well under a 20,000-fd limit with the identify stage and an agent's polling beside it. */
export const DEFAULT_PROBE_CONCURRENCY = 2048;
/** A SYN to a live miner on a LAN is answered in milliseconds; waiting longer only slows a sparse scan. */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000;
export const DEFAULT_IDENTIFY_CONCURRENCY = 128;
export const DEFAULT_IDENTIFY_TIMEOUT_MS = 5000;

export type ScanStage = 'probe' | 'identify';

export interface ScanProgress {
  stage: ScanStage;
  done: number;
  total: number;
}

export interface ScanOptions {
  /** Host specs as `expandHosts` reads them: `10.0.0.0/16`, `10.0.1.10-200`, `10.0.1.10-10.0.2.50`, a single address. */
  ranges: string[];
  port?: number;
  probeConcurrency?: number;
  probeTimeoutMs?: number;
  identifyConcurrency?: number;
  /** Budget for one host's whole identification, the `version` fallback included. */
  identifyTimeoutMs?: number;
  maxResponseBytes?: number;
  /** Keep the addresses that did not accept a connection (a /16 has ~65,000 of them); default: count only. */
  listSilent?: boolean;
  /** Aborting rejects the scan with the signal's reason once the probes in flight are torn down. */
  signal?: AbortSignal;
  /** Called at each stage's start and after every host; cheap enough to call 65,000 times, so throttle any drawing. */
  onProgress?: (progress: ScanProgress) => void;
  /** Protocols to probe and identify beside the CGMiner API, richest first; none by default. */
  protocols?: readonly ScanProtocol[];
}

/** What identifying one host over one protocol found: enough to name it in a scan report. */
export type ScanIdentity = Pick<IdentifiedMiner, 'vendor' | 'model' | 'firmware' | 'dialect' | 'hashrate_hs'>;

/** One protocol the scan can identify a miner by, beside the CGMiner API (collectors/scan-protocols.ts). */
export interface ScanProtocol {
  /** Its target URL scheme. */
  readonly scheme: string;
  readonly port: number;
  /** What the host is over this protocol; rejects (a PollError) when it does not speak it. */
  identify(host: string, port: number, options: { timeoutMs: number; signal: AbortSignal; maxResponseBytes?: number }): Promise<ScanIdentity>;
}

/** A host that answered the CGMiner API; fields the firmware did not report are absent. */
export interface IdentifiedMiner {
  /** Target URL, as `targets[].url` takes it: `cgminer://10.0.1.15:4028`. */
  url: string;
  host: string;
  port: number;
  /** The scheme it was identified by (`cgminer`, `whatsminer-v3`, …): the richest that answered. */
  protocol: string;
  /** Other protocols the same host answered. */
  also?: string[];
  vendor?: string;
  model?: string;
  firmware?: string;
  /** The dialect that read it (`antminer`, `cgminer`, …). */
  dialect?: string;
  hashrate_hs?: number;
}

/** A host whose port accepted a connection but gave no CGMiner reply we could read. */
export interface UnidentifiedHost {
  url: string;
  host: string;
  port: number;
  reason: ErrorReason;
  error: string;
}

export interface ScanResult {
  ranges: string[];
  /** The CGMiner API port. */
  port: number;
  /** Every port probed: the CGMiner API's and the other protocols'. */
  ports: number[];
  /** The port each other protocol was probed on, by scheme. */
  protocol_ports: Record<string, number>;
  /** Distinct addresses probed. */
  scanned: number;
  identified: IdentifiedMiner[];
  unidentified: UnidentifiedHost[];
  /** Addresses that refused or never answered the connect; `hosts` only with `listSilent`. */
  silent: { count: number; hosts?: string[] };
  duration_ms: { probe: number; identify: number };
}

/**
 * Expands and de-duplicates the ranges, in the order given. Throws TargetError for a bad spec before
 * any packet is sent.
 */
export function scanHosts(ranges: readonly string[]): string[] {
  if (ranges.length === 0) return [];
  const expanded = ranges.map((spec) => expandHosts(spec));
  if (expanded.length === 1) return expanded[0]!;
  const seen = new Set<string>();
  const hosts: string[] = [];
  for (const list of expanded) {
    for (const host of list) {
      if (seen.has(host)) continue;
      seen.add(host);
      hosts.push(host);
    }
  }
  return hosts;
}

export async function scan(opts: ScanOptions): Promise<ScanResult> {
  const port = opts.port ?? DEFAULT_SCAN_PORT;
  const hosts = scanHosts(opts.ranges);
  // Every identify request in flight listens on this one signal: allow that many without Node's leak warning.
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const forwardAbort = () => controller.abort(opts.signal!.reason);
  if (opts.signal?.aborted) throw opts.signal.reason;
  opts.signal?.addEventListener('abort', forwardAbort, { once: true });
  const signal = controller.signal;
  const progress = opts.onProgress ?? (() => {});

  try {
    const probeStart = performance.now();
    const protocols = opts.protocols ?? [];
    const ports = [...new Set([port, ...protocols.map((p) => p.port)])];
    // Ports open per host, in probe order; a host is silent when none of its ports answered.
    const openPorts = new Map<string, number[]>();
    const unanswered = new Map<string, number>();
    const silentHosts: string[] | undefined = opts.listSilent ? [] : undefined;
    let silent = 0;
    let probed = 0;
    const live = new Set<Socket>();
    const closeProbes = () => {
      for (const socket of live) socket.destroy();
    };
    signal.addEventListener('abort', closeProbes, { once: true });
    progress({ stage: 'probe', done: 0, total: hosts.length });
    await runPool(hosts.length * ports.length, opts.probeConcurrency ?? DEFAULT_PROBE_CONCURRENCY, signal, async (i) => {
      const host = hosts[Math.floor(i / ports.length)]!;
      const probePort = ports[i % ports.length]!;
      if (await probeTracked(host, probePort, opts.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, live)) {
        const list = openPorts.get(host);
        if (list) list.push(probePort);
        else openPorts.set(host, [probePort]);
      }
      const left = (unanswered.get(host) ?? ports.length) - 1;
      if (left > 0) {
        unanswered.set(host, left);
        return;
      }
      unanswered.delete(host);
      if (!openPorts.has(host)) {
        silent++;
        silentHosts?.push(host);
      }
      progress({ stage: 'probe', done: ++probed, total: hosts.length });
    });
    const open = [...openPorts.keys()];
    signal.removeEventListener('abort', closeProbes);
    const probeMs = performance.now() - probeStart;

    const identifyStart = performance.now();
    const identified: IdentifiedMiner[] = [];
    const unidentified: UnidentifiedHost[] = [];
    let identifiedCount = 0;
    progress({ stage: 'identify', done: 0, total: open.length });
    await runPool(open.length, opts.identifyConcurrency ?? DEFAULT_IDENTIFY_CONCURRENCY, signal, async (i) => {
      const host = open[i]!;
      const outcome = await identifyOnPorts(host, openPorts.get(host)!, port, protocols, opts.identifyTimeoutMs ?? DEFAULT_IDENTIFY_TIMEOUT_MS, signal, opts.maxResponseBytes);
      if ('reason' in outcome) unidentified.push(outcome);
      else identified.push(outcome);
      progress({ stage: 'identify', done: ++identifiedCount, total: open.length });
    });
    if (signal.aborted) throw signal.reason;

    const byAddress = (a: { host: string }, b: { host: string }) => compareHosts(a.host, b.host);
    return {
      ranges: [...opts.ranges],
      port,
      ports,
      protocol_ports: Object.fromEntries(protocols.map((p) => [p.scheme, p.port])),
      scanned: hosts.length,
      identified: identified.sort(byAddress),
      unidentified: unidentified.sort(byAddress),
      silent: silentHosts ? { count: silent, hosts: silentHosts.sort(compareHosts) } : { count: silent },
      duration_ms: { probe: Math.round(probeMs), identify: Math.round(performance.now() - identifyStart) },
    };
  } finally {
    opts.signal?.removeEventListener('abort', forwardAbort);
  }
}

/** Numeric order for IPv4 addresses (10.0.0.9 before 10.0.0.10), names after them alphabetically. */
export function compareHosts(a: string, b: string): number {
  const x = ipv4ToInt(a);
  const y = ipv4ToInt(b);
  if (x !== undefined && y !== undefined) return x - y;
  if (x !== undefined) return -1;
  if (y !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs `task(0..count-1)`, at most `limit` at once, without a promise or result per item up front. */
async function runPool(count: number, limit: number, signal: AbortSignal, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count && !signal.aborted) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), count) }, worker));
  if (signal.aborted) throw signal.reason;
}

/** True when something accepts a TCP connection on host:port. The socket is closed at once, unwritten. */
export function probePort(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return probeTracked(host, port, timeoutMs, new Set());
}

/**
 * probePort whose socket sits in `live` while it is open, so an abort tears all of them down from one
 * listener: an AbortSignal listener per socket would cost a linear search on every removal, thousands
 * of times over.
 */
function probeTracked(host: string, port: number, timeoutMs: number, live: Set<Socket>): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    live.add(socket);
    let open = false;
    // Timers run before I/O in each turn of the event loop: after a stall (a starved CPU, a long GC) the
    // timeout would fire ahead of a connect that already completed. Deciding in the check phase, after
    // pending I/O has been delivered, keeps a busy scanner from calling an open port silent.
    const timer = setTimeout(() => setImmediate(() => socket.destroy()), timeoutMs);
    socket.once('connect', () => {
      open = true;
      socket.destroy();
    });
    socket.once('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      live.delete(socket);
      resolve(open);
    });
  });
}

/**
 * A host identified over every protocol listening on its open ports, in the order given (the CGMiner
 * API on `cgminerPort` last), one miner in the end: the first identification that names a model, else
 * the first at all. A host none of them read is reported with the first failure, on its first open port.
 */
async function identifyOnPorts(
  host: string,
  open: readonly number[],
  cgminerPort: number,
  protocols: readonly ScanProtocol[],
  timeoutMs: number,
  signal: AbortSignal,
  maxResponseBytes?: number,
): Promise<IdentifiedMiner | UnidentifiedHost> {
  const deadline = Date.now() + timeoutMs;
  const found: IdentifiedMiner[] = [];
  let firstFailure: UnidentifiedHost | undefined;
  const viaProtocol = (protocol: ScanProtocol) => async (): Promise<IdentifiedMiner | UnidentifiedHost> => {
    const url = canonicalUrl(protocol.scheme as TargetScheme, host, protocol.port);
    try {
      const identity = await protocol.identify(host, protocol.port, { timeoutMs: Math.max(1, deadline - Date.now()), signal, maxResponseBytes });
      return { url, host, port: protocol.port, protocol: protocol.scheme, ...definedOf(identity) };
    } catch (err) {
      return { url, host, port: protocol.port, reason: err instanceof PollError ? err.reason : 'other', error: errorText(err) };
    }
  };
  // A protocol that shares the CGMiner port (ePIC's HTTP API on 4028) is tried only where the CGMiner
  // API did not answer: a CGMiner miner is never sent an HTTP request it would have to refuse.
  const attempts = protocols.filter((p) => p.port !== cgminerPort && open.includes(p.port)).map(viaProtocol);
  const fallbacks = protocols.filter((p) => p.port === cgminerPort && open.includes(p.port)).map(viaProtocol);
  if (open.includes(cgminerPort)) attempts.push(() => identifyHost(host, cgminerPort, Math.max(1, deadline - Date.now()), signal, maxResponseBytes));
  let cgminerAnswered = false;
  for (const attempt of [...attempts, ...fallbacks]) {
    if (signal.aborted || Date.now() >= deadline || (cgminerAnswered && fallbacks.includes(attempt))) break;
    const outcome = await attempt();
    if ('reason' in outcome) firstFailure ??= outcome;
    else {
      found.push(outcome);
      if (outcome.protocol === 'cgminer') cgminerAnswered = true;
    }
  }
  if (found.length === 0) {
    const port = open[0]!;
    return firstFailure ?? { url: canonicalUrl('cgminer', host, port), host, port, reason: 'timeout', error: `${host}: no time left to identify it` };
  }
  const chosen = found.find((m) => m.model !== undefined) ?? found[0]!;
  const also = found.filter((m) => m !== chosen).map((m) => m.protocol);
  if (also.length) chosen.also = also;
  return chosen;
}

function definedOf(identity: ScanIdentity): ScanIdentity {
  const out: ScanIdentity = {};
  if (identity.vendor !== undefined) out.vendor = identity.vendor;
  if (identity.model !== undefined) out.model = identity.model;
  if (identity.firmware !== undefined) out.firmware = identity.firmware;
  if (identity.dialect !== undefined) out.dialect = identity.dialect;
  if (identity.hashrate_hs !== undefined) out.hashrate_hs = identity.hashrate_hs;
  return out;
}

/** Failures after which asking `version` may still get an answer; a closed or hung port will not give one. */
const WORTH_ASKING_VERSION: ReadonlySet<ErrorReason> = new Set(['malformed', 'api_error']);

async function identifyHost(host: string, port: number, timeoutMs: number, signal: AbortSignal, maxResponseBytes?: number): Promise<IdentifiedMiner | UnidentifiedHost> {
  const url = canonicalUrl('cgminer', host, port);
  const target: Target = { url, scheme: 'cgminer', host, port, labels: {}, intervalMs: 0, timeoutMs };
  const deadline = Date.now() + timeoutMs;
  let reply: CgminerReply = {};
  let failure: CgminerError | undefined;
  try {
    reply = await pollCgminer({ host, port, timeoutMs, signal, maxResponseBytes });
  } catch (err) {
    failure = asCgminerError(err);
  }
  let snapshot: DeviceSnapshot | undefined;
  if (!failure) ({ snapshot, failure } = read(reply, target));

  const left = deadline - Date.now();
  if ((snapshot?.model === undefined || snapshot.firmware === undefined) && (!failure || WORTH_ASKING_VERSION.has(failure.reason)) && left > 0 && !signal.aborted) {
    try {
      const text = await cgminerRequest({ host, port, command: 'version', timeoutMs: left, signal, maxResponseBytes });
      const withVersion = read({ ...reply, ...toCgminerReply(parseCgminerJson(text).value, 'version') }, target);
      if (withVersion.snapshot) {
        snapshot = withVersion.snapshot;
        failure = undefined;
      }
    } catch {
      // The first failure says more about the host than the fallback's.
    }
  }
  if (!snapshot) {
    const why = failure ?? new CgminerError('other', `${hostPort(host, port)}: no reply`);
    return { url, host, port, reason: why.reason, error: why.message };
  }
  const miner: IdentifiedMiner = { url, host, port, protocol: 'cgminer' };
  if (snapshot.vendor !== undefined) miner.vendor = snapshot.vendor;
  if (snapshot.model !== undefined) miner.model = snapshot.model;
  if (snapshot.firmware !== undefined) miner.firmware = snapshot.firmware;
  if (snapshot.dialect !== undefined) miner.dialect = snapshot.dialect;
  if (snapshot.hashrate_hs !== undefined) miner.hashrate_hs = snapshot.hashrate_hs;
  return miner;
}

/** The reply read as a miner, or why it is not one: it must carry a CGMiner STATUS somewhere, not just any JSON. */
function read(reply: CgminerReply, target: Target): { snapshot?: DeviceSnapshot; failure?: CgminerError } {
  const where = hostPort(target.host, target.port);
  if (!Object.values(reply).some((response) => statusOf(response) !== undefined)) {
    return { failure: new CgminerError('malformed', `${where}: answers JSON that is not a CGMiner API reply (no STATUS)`) };
  }
  try {
    return { snapshot: normalizeReply(reply, { target, observedAt: new Date() }) };
  } catch (err) {
    return { failure: asCgminerError(err) };
  }
}

function asCgminerError(err: unknown): CgminerError {
  return err instanceof CgminerError ? err : new CgminerError('other', err instanceof Error ? err.message : String(err));
}
