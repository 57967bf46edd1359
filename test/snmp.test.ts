import { existsSync, readdirSync } from 'node:fs';
import { collectOnce } from '../agent/scheduler.js';
import { createSocket, type Socket } from 'node:dgram';
import { basename, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { targetsFromUrls } from '../agent/targets.js';
import { createNetSnmpTransport, createSnmpCollector, SYSTEM_OID, type SnmpTransport } from '../collectors/snmp/index.js';
import { OID as APC2 } from '../collectors/snmp/profiles/apc-rpdu2/index.js';
import { apcRpdu2 } from '../collectors/snmp/profiles/apc-rpdu2/index.js';
import { parseTargetUrl } from '../collectors/target.js';
import { redactUserinfo, TargetError } from '../collectors/contract.js';
import { configSchema } from '../config/schema.js';
import { snmpSchema, type SnmpSettings } from '../config/snmp-schema.js';
import { startSnmpSim, type SnmpSim } from '../simulator/snmp.js';
import { findTool, REPO_ROOT, sharedFixtures } from './helpers.js';

const PROFILES = resolve(REPO_ROOT, 'collectors', 'snmp', 'profiles');
const SHARED = sharedFixtures('snmp');
const snmpsimd = findTool('snmpsimd');

const V3 = { user: 'potencia-ro', authKey: 'auth-secret-1', authProto: 'SHA', privKey: 'priv-secret-1', privProto: 'AES' } as const;
const settingsWith = (extra: object = {}): SnmpSettings => snmpSchema.parse({ retries: 0, ...extra });

async function pollOnce(url: string, settings: SnmpSettings = settingsWith(), timeoutMs = 3000, transport?: (t: SnmpTransport) => SnmpTransport): Promise<DeviceSnapshot> {
  const [target] = targetsFromUrls([url], timeoutMs);
  const collector = createSnmpCollector(target!, {
    settings: () => settings,
    ...(transport ? { createTransport: (o) => transport(createNetSnmpTransport(o)) } : {}),
  });
  const [snapshot] = await collectOnce(collector, new AbortController().signal);
  return snapshot!;
}

describe('snmp:// target URLs', () => {
  it('takes the community from userinfo, keeps it out of the canonical URL, and checks parameters', () => {
    const parsed = parseTargetUrl('snmp://s3cr%40t@10.0.0.9?profile=apc-rpdu2&version=1');
    expect(parsed).toEqual({ scheme: 'snmp', hosts: ['10.0.0.9'], port: 161, userinfo: 's3cr@t', params: { profile: 'apc-rpdu2', version: '1' } });
    const [target] = targetsFromUrls(['snmp://public@10.0.0.8-9:1161?profile=apc-rpdu2'], 1000);
    expect(target).toMatchObject({ url: 'snmp://10.0.0.8:1161?profile=apc-rpdu2', host: '10.0.0.8', port: 1161, userinfo: 'public' });
    expect(() => parseTargetUrl('snmp://public@10.0.0.9?profile=nope')).toThrow(/unknown SNMP profile "nope" \(known: apc-rpdu2/);
    expect(() => parseTargetUrl('snmp://public@10.0.0.9?version=3')).toThrow(/snmp:\/\/v3:NAME@HOST/);
    expect(() => parseTargetUrl('snmp://public@10.0.0.9?colour=red')).toThrow(/unknown parameter "colour"/);
    expect(() => parseTargetUrl('cgminer://admin@10.0.1.1')).toThrow(TargetError);
    // A community never appears in an error message.
    expect(() => parseTargetUrl('snmp://topsecret@10.0.0.9?profile=nope')).toThrow(/snmp:\/\/<secret>@10\.0\.0\.9/);
    expect(redactUserinfo('snmp://v3:pdu@10.0.0.9')).toBe('snmp://<secret>@10.0.0.9');
  });

  it('validates the snmp: and power: config sections with paths', () => {
    const config = configSchema.parse({
      targets: [{ url: 'snmp://v3:pdu@10.0.0.9?profile=apc-rpdu2' }],
      snmp: { credentials: { pdu: { user: 'ro', auth_password: 'auth-secret-1', priv_password: 'priv-secret-1' } } },
      power: { outlets: [{ pdu: 'snmp://v3:pdu@10.0.0.9', outlet: 3, device: '10.0.1.15' }], site_meter: 'pdu/10.0.0.9' },
    });
    expect(config.snmp).toMatchObject({ retries: 1, max_repetitions: 20, credentials: { pdu: { auth_protocol: 'sha', priv_protocol: 'aes' } } });
    const bad = configSchema.safeParse({
      snmp: { credentials: { pdu: { user: 'ro', level: 'authPriv', auth_password: 'auth-secret-1' } } },
      power: {
        outlets: [
          { pdu: 'pdu/x', outlet: 1, device: 'a' },
          { pdu: 'pdu/x', outlet: 1, device: 'b' },
        ],
      },
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'snmp.credentials.pdu.priv_password: authPriv needs priv_password',
      'power.outlets.1: outlet 1 of pdu/x is already mapped by outlets[0]',
    ]);
  });

  it('marks a target down with a clear reason when its SNMPv3 credential is not configured, without touching the network', async () => {
    const s = await pollOnce('snmp://v3:missing@127.0.0.1:9', settingsWith({ credentials: {} }));
    expect(s).toMatchObject({ id: 'pdu/127.0.0.1:9', up: false, error_reason: 'other' });
    expect(s.error).toMatch(/no SNMPv3 credential "missing"/);
  });
});

describe('SNMP timeouts', () => {
  let silent: Socket;
  let port: number;
  let datagrams = 0;
  beforeAll(async () => {
    silent = createSocket('udp4');
    silent.on('message', () => datagrams++);
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    port = silent.address().port;
  });
  afterAll(() => new Promise<void>((r) => silent.close(() => r())));

  it('marks a device that never answers down with reason timeout, after the configured retries', async () => {
    const started = Date.now();
    const s = await pollOnce(`snmp://public@127.0.0.1:${port}`, settingsWith({ retries: 1 }), 400);
    expect(s).toMatchObject({ up: false, error_reason: 'timeout' });
    expect(s.error).toMatch(/no SNMP reply in time/);
    expect(datagrams).toBe(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe.skipIf(!snmpsimd)('SNMP profiles against a real snmpsimd', () => {
  let sim: SnmpSim;
  beforeAll(async () => {
    // Each profile's own recordings, from its testdata/ folder.
    const own = readdirSync(PROFILES, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(resolve(PROFILES, e.name, 'testdata')))
      .flatMap((e) =>
        readdirSync(resolve(PROFILES, e.name, 'testdata'))
          .filter((f) => f.endsWith('.snmprec'))
          .map((f) => resolve(PROFILES, e.name, 'testdata', f)),
      );
    const shared = SHARED ? readdirSync(SHARED).filter((f) => f.endsWith('.snmprec')) : [];
    sim = await startSnmpSim({
      recordings: [
        ...own.map((path) => ({ community: basename(path, '.snmprec'), path })),
        ...shared.map((f) => ({ community: `shared-${f.replace(/\.snmprec$/, '')}`, path: resolve(SHARED!, f) })),
      ],
      v3User: V3,
    });
  }, 60_000);
  afterAll(async () => sim?.stop());

  it('auto-detects an APC rPDU2 by sysObjectID and reads device, phase and outlet figures in base units', async () => {
    const s = await pollOnce(sim.url('apc-rpdu2'));
    expect(s).toMatchObject({
      id: `pdu/127.0.0.1:${sim.port}`,
      kind: 'pdu',
      dialect: 'apc-rpdu2',
      up: true,
      vendor: 'APC',
      model: 'AP8881',
      serial: '3F1810A01234',
      firmware: 'v6.8.2',
      uptime_s: 9876543,
      power_w: 6270,
      power_source: 'pdu',
      energy_j: 98765 * 360_000,
      phases: [{ index: 1, current_a: 27.3, voltage_v: 229, power_w: 6270 }],
    });
    expect(s.outlets).toEqual([
      { index: 1, name: 'miner-a', state: 'on', current_a: 14.2, power_w: 3250, energy_j: 52113 * 360_000 },
      { index: 2, name: 'miner-b', state: 'on', current_a: 13.1, power_w: 3020, energy_j: 46502 * 360_000 },
      { index: 3, name: 'spare', state: 'off', current_a: 0, power_w: 0, energy_j: 0 },
    ]);
  });

  it("asks for the system group, then walks exactly the profile's columns", async () => {
    const asked: string[] = [];
    const s = await pollOnce(sim.url('apc-rpdu2'), settingsWith(), 3000, (inner) => ({
      get: (oids) => {
        asked.push(...oids.map((o) => `get ${o}`));
        return inner.get(oids);
      },
      walk: (oid) => {
        asked.push(`walk ${oid}`);
        return inner.walk(oid);
      },
      close: () => inner.close(),
    }));
    expect(s.up).toBe(true);
    expect(asked).toEqual([...Object.values(SYSTEM_OID).map((o) => `get ${o}`), ...apcRpdu2.walks.map((o) => `walk ${o}`)]);
    expect(asked).toContain(`walk ${APC2.outletPower}`);
  });

  it('reads a first-generation APC rPDU: device watts, phase rows only (not banks), outlet states', async () => {
    const s = await pollOnce(sim.url('apc-rpdu'));
    expect(s).toMatchObject({ dialect: 'apc-rpdu', model: 'AP7900', firmware: 'v3.7.3', power_w: 1380, phases: [{ index: 1, current_a: 6.2 }] });
    expect(s.outlets).toEqual([
      { index: 1, name: 'Outlet 1', state: 'on' },
      { index: 2, name: 'Outlet 2', state: 'off' },
    ]);
  });

  it('reads a Raritan PDU2 with each sensor scaled by its own decimal digits', async () => {
    const s = await pollOnce(sim.url('raritan-pdu2'));
    expect(s).toMatchObject({
      dialect: 'raritan-pdu2',
      vendor: 'Raritan',
      power_w: 3380,
      energy_j: 7654321 * 3600,
      temperatures_c: { 'inlet-air': 24.3 },
      humidity_ratio: { 'inlet-rh': 0.38 },
    });
    expect(s.outlets).toEqual([
      { index: 1, name: 's19-r02-07', current_a: 14.65, voltage_v: 231, power_w: 3310, energy_j: 1234567 * 3600 },
      { index: 2, current_a: 0.22, power_w: 48 },
    ]);
  });

  it('reads a ServerTech Sentry4 with outlets, a temperature and a humidity probe', async () => {
    const s = await pollOnce(sim.url('servertech-sentry4-outlets'));
    expect(s).toMatchObject({
      dialect: 'servertech-sentry4',
      power_w: 3405,
      energy_j: 120 * 360_000,
      temperatures_c: { Temp_Sensor_A1: 26.8 },
      humidity_ratio: { Humid_Sensor_A1: 0.44 },
    });
    expect(s.outlets).toEqual([
      { index: 1, name: 'gpu-node-1-psu1', state: 'on', current_a: 14.8, power_w: 3405 },
      { index: 2, name: 'gpu-node-1-psu2', state: 'off', current_a: 0, power_w: 0 },
    ]);
  });

  it('falls back to ENTITY-SENSOR-MIB for an unknown sysObjectID, applying scale and precision and skipping unavailable sensors', async () => {
    const s = await pollOnce(sim.url('entity-sensor'));
    expect(s).toMatchObject({ kind: 'sensor', dialect: 'entity-sensor', up: true, power_w: 15300, power_source: 'reported' });
    expect(s.temperatures_c).toEqual({ 'Hall-1 cold aisle': 23.5 });
    expect(s.humidity_ratio).toEqual({ 'Hall-1 humidity': 0.41 });
    expect(s.error).toBeUndefined();
  });

  it('reads a Linux net-snmp agent with HOST-RESOURCES and UCD-SNMP / LM-SENSORS together', async () => {
    const s = await pollOnce(sim.url('linux-host'));
    expect(s).toMatchObject({ id: `host/127.0.0.1:${sim.port}`, kind: 'host', dialect: 'host-resources+ucd-snmp', uptime_s: 86400 });
    expect(s.host).toEqual({
      cpus: 2,
      cpu_utilization_ratio: 0.2,
      memory_total_bytes: 16_384_000 * 1024,
      memory_used_bytes: 8_192_000 * 1024,
      load1: 1.52,
      storage: [{ name: '/', total_bytes: 4_096_000_000, used_bytes: 1_024_000_000 }],
    });
    expect(s.temperatures_c).toEqual({ 'Core 0': 45, 'Core 1': 47.5 });
    expect(s.fans_rpm).toEqual([2400]);
  });

  it('an explicit ?profile= wins over detection', async () => {
    const s = await pollOnce(sim.url('linux-host', 'profile=ucd-snmp'));
    expect(s).toMatchObject({ dialect: 'ucd-snmp', host: { cpu_utilization_ratio: 0.2, load1: 1.52, memory_used_bytes: 8_192_000 * 1024 } });
    expect(s.host?.cpus).toBeUndefined();
  });

  it('speaks SNMPv1 when asked', async () => {
    const s = await pollOnce(sim.url('apc-rpdu2', 'version=1'));
    expect(s).toMatchObject({ up: true, power_w: 6270, outlets: expect.arrayContaining([expect.objectContaining({ index: 2, power_w: 3020 })]) });
  });

  it('polls with an SNMPv3 authPriv (SHA + AES) user from config, and fails cleanly with a wrong password', async () => {
    const credentials = { ro: { user: V3.user, auth_protocol: 'sha', auth_password: V3.authKey, priv_protocol: 'aes', priv_password: V3.privKey } };
    const ok = await pollOnce(`snmp://v3:ro@127.0.0.1:${sim.port}?context=apc-rpdu2`, settingsWith({ credentials }));
    expect(ok).toMatchObject({ up: true, dialect: 'apc-rpdu2', power_w: 6270 });
    const wrong = { ro: { ...credentials.ro, priv_password: 'not-the-key' } };
    const bad = await pollOnce(`snmp://v3:ro@127.0.0.1:${sim.port}?context=apc-rpdu2`, settingsWith({ credentials: wrong }), 600);
    expect(bad.up).toBe(false);
    expect(['timeout', 'api_error']).toContain(bad.error_reason);
    expect(JSON.stringify(bad)).not.toContain('not-the-key');
  });

  it.skipIf(!SHARED)('reads the real ServerTech Sentry4 recording: cord power, three phases, absent probes stay absent', async () => {
    const s = await pollOnce(sim.url('shared-servertech-sentry4'));
    expect(s).toMatchObject({ kind: 'pdu', dialect: 'servertech-sentry4', vendor: 'ServerTech', model: 'Sentry Smart PDU', power_w: 1701, energy_j: 8937 * 360_000 });
    expect(s.phases).toEqual([
      { index: 1, name: 'AA:L1-L2', voltage_v: 207.9, current_a: 2.09, power_w: 415 },
      { index: 2, name: 'AA:L2-L3', voltage_v: 208.9, current_a: 2.22, power_w: 444 },
      { index: 3, name: 'AA:L3-L1', voltage_v: 209.4, current_a: 4.29, power_w: 848 },
    ]);
    // -410 (temperature) and -1 (humidity) mean "no probe": nothing is reported, nothing is zero.
    expect(s.temperatures_c).toEqual({});
    expect(s.humidity_ratio).toBeUndefined();
  });

  it.skipIf(!SHARED)('reads the real Raritan PX recording: inlet power, outlet currents, pole, external probes', async () => {
    const s = await pollOnce(sim.url('shared-raritan-px'));
    expect(s).toMatchObject({ kind: 'pdu', dialect: 'raritan-px', firmware: '010507-11172', power_w: 580, phases: [{ index: 1, name: 'L1', current_a: 2.971, voltage_v: 230.5 }] });
    expect(s.outlets).toHaveLength(12);
    expect(s.outlets![2]).toEqual({ index: 3, name: 'OUTLET3', current_a: 2.192 });
    expect(s.temperatures_c).toEqual({ 'Temperature AEI8850418': 20.5 });
    expect(s.humidity_ratio).toEqual({ 'Humidity AEI8850418': 0.39 });
    // The same PDU's PDU2-MIB rows, read with the PDU2 profile: per-outlet active power with its digits.
    const pdu2 = await pollOnce(sim.url('shared-raritan-px', 'profile=raritan-pdu2'));
    expect(pdu2).toMatchObject({ dialect: 'raritan-pdu2', power_w: 138 });
    expect(pdu2.outlets!.find((o) => o.index === 3)).toEqual({ index: 3, name: 'OUTLET3', current_a: 0.311, power_w: 68 });
  });
});
