/**
 * The protocols `potencia scan` and the daemon's discovery identify miners by beside the CGMiner API,
 * richest first: each reads a host with its own collector, once, and keeps what names the miner.
 */
import { PollError, type DeviceSnapshot } from '../agent/snapshot.js';
import { parseDigestChallenge } from './antminer-web/digest.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from './cgminer/client.js';
import type { ScanIdentity, ScanProtocol } from './cgminer/discovery.js';
import { hostPort, type Target } from './contract.js';
import { GOLDSHELL_STATUS_PATH } from './goldshell/collector.js';
import { normalizeGoldshell } from './goldshell/normalize.js';
import { httpGet, jsonObjectOf } from './http-get.js';
import { identifyProto } from './proto/collector.js';
import { createCollector, schemeNamed, type TargetScheme } from './registry.js';
import { canonicalUrl } from './target.js';

type Options = Parameters<ScanProtocol['identify']>[2];

/** One poll by the scheme's own collector, its snapshot cut down to what names the miner. */
async function viaCollector(scheme: TargetScheme, host: string, port: number, options: Options): Promise<ScanIdentity> {
  const target: Target = { url: canonicalUrl(scheme, host, port), scheme, host, port, labels: {}, intervalMs: 0, timeoutMs: options.timeoutMs };
  const [snapshot] = await createCollector(target, { maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES }).collect(options.signal);
  return identityOf(snapshot);
}

function identityOf(snapshot: DeviceSnapshot | undefined): ScanIdentity {
  const identity: ScanIdentity = {};
  if (snapshot?.vendor !== undefined) identity.vendor = snapshot.vendor;
  if (snapshot?.model !== undefined) identity.model = snapshot.model;
  if (snapshot?.firmware !== undefined) identity.firmware = snapshot.firmware;
  if (snapshot?.dialect !== undefined) identity.dialect = snapshot.dialect;
  if (snapshot?.hashrate_hs !== undefined) identity.hashrate_hs = snapshot.hashrate_hs;
  return identity;
}

const ANTMINER_REALM = /antminer/i;
const SYSTEM_INFO = '/cgi-bin/get_system_info.cgi';

/**
 * An Antminer's web API, known without a login by its digest challenge (realm "antMiner
 * Configuration"); a scan holds no account, so this names the make only, and the CGMiner API on the
 * same host (which names the model) is preferred where it answers.
 */
async function identifyAntminerWeb(host: string, port: number, options: Options): Promise<ScanIdentity> {
  const reply = await httpGet({
    host,
    port,
    path: SYSTEM_INFO,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
  });
  const where = `${hostPort(host, port)}${SYSTEM_INFO}`;
  if (reply.status === 401) {
    const challenge = parseDigestChallenge(reply.headers['www-authenticate']);
    if (challenge && ANTMINER_REALM.test(challenge.realm)) return { vendor: 'Bitmain', dialect: 'antminer-web' };
    throw new PollError('api_error', `${where}: HTTP 401, not an Antminer's login`);
  }
  const info = jsonObjectOf(reply, where);
  if (typeof info['minertype'] !== 'string') throw new PollError('malformed', `${where}: not an Antminer's system info`);
  return { vendor: 'Bitmain', model: info['minertype'].slice(0, 80), dialect: 'antminer-web' };
}

/**
 * A Goldshell, known without a login by its `/mcb/status` (`"model": "Goldshell-…"`), which names the
 * model and firmware; the boards behind it want an account a scan does not hold.
 */
async function identifyGoldshell(host: string, port: number, options: Options): Promise<ScanIdentity> {
  const where = `${host}:${port}${GOLDSHELL_STATUS_PATH}`;
  const status = jsonObjectOf(
    await httpGet({
      host,
      port,
      path: GOLDSHELL_STATUS_PATH,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    }),
    where,
  );
  const model = typeof status['model'] === 'string' ? status['model'] : '';
  if (!/^goldshell/i.test(model)) throw new PollError('malformed', `${where}: not a Goldshell's status`);
  const snapshot = normalizeGoldshell({ status }, { id: '', kind: 'asic', target: '', labels: {} }, new Date());
  return identityOf(snapshot);
}

export const FLOOR_PROTOCOLS: readonly ScanProtocol[] = [
  { scheme: 'whatsminer-v3', port: 4433, identify: (host, port, options) => viaCollector('whatsminer-v3', host, port, options) },
  { scheme: 'antminer-web', port: 80, identify: identifyAntminerWeb },
  { scheme: 'bitaxe', port: 80, identify: (host, port, options) => viaCollector('bitaxe', host, port, options) },
  // ProtoOS's /api/v1/system needs no login: one more GET on a host whose port 80 is open, no new probe.
  {
    scheme: 'proto',
    port: 80,
    identify: (host, port, options) => identifyProto(host, port, { ...options, maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES }),
  },
  { scheme: 'goldshell', port: 80, identify: identifyGoldshell },
  { scheme: 'epic', port: 4028, identify: (host, port, options) => viaCollector('epic', host, port, options) },
];

/** The schemes of FLOOR_PROTOCOLS, whose ports `potencia scan --ports` and `discovery.ports` set. */
export const FLOOR_SCHEMES: readonly string[] = FLOOR_PROTOCOLS.map((p) => p.scheme);

/**
 * The FLOOR_PROTOCOLS schemes whose reads need an account (their target URL takes `NAME@`): a scan
 * names such a miner by its login page, and polling it needs `discovery.accounts`.
 */
export const ACCOUNT_SCHEMES: readonly string[] = FLOOR_SCHEMES.filter((scheme) => schemeNamed(scheme)?.takesUserinfo);

/** FLOOR_PROTOCOLS at the ports an operator set (a port-forward, a NAT); a protocol not named keeps its own. */
export function floorProtocols(ports: Readonly<Record<string, number | undefined>> = {}): ScanProtocol[] {
  return FLOOR_PROTOCOLS.map((protocol) => {
    const port = ports[protocol.scheme];
    return port === undefined || port === protocol.port ? protocol : { ...protocol, port };
  });
}
