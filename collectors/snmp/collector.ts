import type { DeviceIdentity, DeviceKind, DeviceSnapshot } from '../../agent/snapshot.js';
import { DEFAULT_SNMP_SETTINGS, type SnmpSettings } from '../../config/snmp-schema.js';
import { hostPort, idSuffix, urlHost, type Collector, type Target } from '../contract.js';
import { detectProfiles, FALLBACK_PROFILE, profileByName } from './profiles/index.js';
import { createNetSnmpTransport, SnmpError, type NetSnmpTransportOptions, type SnmpAuth } from './transport.js';
import { SnmpData, toNumber, type ProfileReading, type SnmpProfile, type SnmpTransport, type SystemInfo } from './types.js';

export interface SnmpCollectorOptions {
  /** The `snmp:` config section in force now (read on every poll, so a reload's credentials apply). */
  settings?: () => SnmpSettings | undefined;
  /** Builds the transport for one poll; tests wrap the real one to see which OIDs were asked for. */
  createTransport?: (options: NetSnmpTransportOptions) => SnmpTransport;
}

export const SYSTEM_OID = {
  descr: '1.3.6.1.2.1.1.1.0',
  objectId: '1.3.6.1.2.1.1.2.0',
  uptime: '1.3.6.1.2.1.1.3.0', // TimeTicks: hundredths of a second
  name: '1.3.6.1.2.1.1.5.0',
} as const;

/** A device read over SNMP: one target, one snapshot; a fault rejects with an SnmpError saying why. */
export function createSnmpCollector(target: Target, options: SnmpCollectorOptions = {}): Collector {
  const explicit = target.params?.profile?.split(',').map((name) => profileByName(name)!);
  // Detected once: a PDU does not turn into a host, and the id must not change when it goes down.
  let detected: SnmpProfile[] | undefined;
  const kindNow = (): DeviceKind => (explicit ?? detected)?.[0]?.kind ?? 'pdu';
  const identity = (): DeviceIdentity => {
    const kind = kindNow();
    const endpoint = target.port === 161 ? urlHost(target.host) : hostPort(target.host, target.port);
    return { id: `${kind}/${endpoint}${idSuffix(target)}`, kind, target: target.url, labels: target.labels, address: target.host };
  };

  return {
    target,
    placeholder: identity,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const settings = options.settings?.() ?? DEFAULT_SNMP_SETTINGS;
      let transport: SnmpTransport | undefined;
      try {
        const auth = resolveAuth(target, settings);
        transport = (options.createTransport ?? createNetSnmpTransport)({
          host: target.host,
          port: target.port,
          auth,
          requestTimeoutMs: Math.floor(target.timeoutMs / (settings.retries + 1)),
          retries: settings.retries,
          maxRepetitions: settings.max_repetitions,
          ...(target.params?.context !== undefined ? { context: target.params.context } : {}),
          signal,
        });
        const system = await readSystem(transport);
        let profiles = explicit ?? detected;
        let fallback = false;
        if (!profiles) {
          const found = detectProfiles(system.objectId);
          fallback = found.length === 0;
          profiles = fallback ? [FALLBACK_PROFILE] : found;
          detected = profiles;
        }
        const data = new SnmpData();
        for (const profile of profiles) {
          if (profile.gets?.length) data.add(await getEach(transport, profile.gets));
          for (const oid of profile.walks) data.add(await transport.walk(oid));
        }
        const snapshot = buildSnapshot(
          identity(),
          profiles,
          profiles.map((p) => p.read(data, system)),
          system,
        );
        if (fallback && data.size === 0) {
          snapshot.error = `sysObjectID ${system.objectId ?? '(none)'} matches no profile and the agent has no ENTITY-SENSOR-MIB sensors; set ?profile= on the target`;
        }
        return [snapshot];
      } finally {
        transport?.close();
      }
    },
  };
}

function resolveAuth(target: Target, settings: SnmpSettings): SnmpAuth {
  const userinfo = target.userinfo ?? 'public';
  if (userinfo.startsWith('v3:')) {
    const name = userinfo.slice(3);
    const credential = settings.credentials[name];
    if (!credential) {
      const known = Object.keys(settings.credentials);
      throw new SnmpError('other', `no SNMPv3 credential "${name}" in snmp.credentials (${known.length ? `known: ${known.join(', ')}` : 'none configured'})`);
    }
    return { version: '3', credential };
  }
  return { version: target.params?.version === '1' ? '1' : '2c', community: userinfo };
}

async function readSystem(transport: SnmpTransport): Promise<SystemInfo> {
  const data = new SnmpData();
  data.add(await getEach(transport, Object.values(SYSTEM_OID)));
  if (data.size === 0) throw new SnmpError('malformed', 'the agent answered without its system group (sysDescr, sysObjectID)');
  const uptime = data.number(SYSTEM_OID.uptime);
  const system: SystemInfo = {};
  const descr = data.string(SYSTEM_OID.descr);
  const objectId = data.string(SYSTEM_OID.objectId);
  const name = data.string(SYSTEM_OID.name);
  if (descr !== undefined) system.descr = descr;
  if (objectId !== undefined) system.objectId = objectId.replace(/^\./, '');
  if (name !== undefined) system.name = name;
  if (uptime !== undefined) system.uptimeS = Math.floor(uptime / 100);
  return system;
}

/**
 * GETs scalars together; an SNMPv1 agent fails the whole request when one OID is missing
 * (noSuchName), so on an agent error each is asked alone and the missing ones left out.
 */
async function getEach(transport: SnmpTransport, oids: readonly string[]) {
  try {
    return await transport.get(oids);
  } catch (err) {
    if (!(err instanceof SnmpError) || err.reason !== 'api_error' || oids.length === 1) throw err;
    const out = [];
    for (const oid of oids) {
      try {
        out.push(...(await transport.get([oid])));
      } catch (inner) {
        if (!(inner instanceof SnmpError) || inner.reason !== 'api_error') throw inner;
      }
    }
    return out;
  }
}

function buildSnapshot(
  identity: Pick<DeviceSnapshot, 'id' | 'kind' | 'target' | 'labels' | 'address'>,
  profiles: readonly SnmpProfile[],
  readings: ProfileReading[],
  system: SystemInfo,
): DeviceSnapshot {
  const snapshot: DeviceSnapshot = {
    ...identity,
    dialect: profiles.map((p) => p.name).join('+'),
    up: true,
    observed_at: new Date().toISOString(),
    temperatures_c: {},
    fans_rpm: [],
  };
  if (system.uptimeS !== undefined) snapshot.uptime_s = system.uptimeS;
  for (const reading of readings) {
    const { temperatures_c, humidity_ratio, fans_rpm, host, ...rest } = reading;
    Object.assign(snapshot.temperatures_c, temperatures_c);
    if (humidity_ratio) snapshot.humidity_ratio = { ...snapshot.humidity_ratio, ...humidity_ratio };
    if (fans_rpm) snapshot.fans_rpm.push(...fans_rpm);
    if (host) snapshot.host = { ...host, ...snapshot.host };
    // The first profile that reports a field wins (HOST-RESOURCES' CPU load over UCD's idle share).
    for (const [key, value] of Object.entries(rest) as [keyof typeof rest, unknown][]) {
      if (value !== undefined && snapshot[key] === undefined) (snapshot as unknown as Record<string, unknown>)[key] = value;
    }
  }
  if (snapshot.model === undefined && system.descr && toNumber(system.descr) === undefined && snapshot.kind !== 'host') snapshot.model = system.descr.slice(0, 128);
  return snapshot;
}
