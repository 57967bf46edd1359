import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { registerSiteMetrics } from '../exporters/prometheus/site-metrics.js';
import { createAgent } from '../agent/compose.js';
import type { Agent } from '../agent/daemon.js';
import { enrichSnapshot } from '../agent/enrich.js';
import { silentLogger } from '../agent/log.js';
import { pduKey, PowerAttribution } from '../agent/power.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { DeviceStore } from '../agent/state.js';
import { configSchema } from '../config/schema.js';
import { powerSchema } from '../config/power-schema.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { apcRpdu2Recording, startSnmpSim, type SnmpSim } from '../simulator/snmp.js';
import { eventually, findTool } from './helpers.js';

const at = '2026-01-01T00:00:00.000Z';
const snap = (over: Partial<DeviceSnapshot> & Pick<DeviceSnapshot, 'id' | 'kind'>): DeviceSnapshot => ({
  target: `cgminer://${over.address ?? '10.0.1.1'}:4028`,
  labels: {},
  up: true,
  observed_at: at,
  temperatures_c: {},
  fans_rpm: [],
  ...over,
});
const pdu = (outlets: { index: number; power_w?: number }[], over: Partial<DeviceSnapshot> = {}): DeviceSnapshot =>
  snap({
    id: 'pdu/10.0.0.9',
    kind: 'pdu',
    target: 'snmp://10.0.0.9:161',
    address: '10.0.0.9',
    power_w: outlets.reduce((s, o) => s + (o.power_w ?? 0), 0),
    power_source: 'pdu',
    outlets,
    ...over,
  });
const miner = (over: Partial<DeviceSnapshot> = {}): DeviceSnapshot =>
  snap({
    id: 'asic/10.0.1.15',
    kind: 'asic',
    address: '10.0.1.15',
    model: 'Antminer S19 Pro',
    hashrate_hs: 110e12,
    power_w: 3000,
    power_source: 'reported',
    labels: { room: 'hall-1', rack: 'r01' },
    ...over,
  });

function record(power: PowerAttribution, store: DeviceStore, snapshots: DeviceSnapshot[]): void {
  for (const s of snapshots) store.upsert(enrichSnapshot(power.attribute(s)));
  power.afterRecord(snapshots, store, enrichSnapshot);
}

describe('power attribution', () => {
  const settings = powerSchema.parse({
    outlets: [
      { pdu: 'snmp://public@10.0.0.9', outlet: 3, device: '10.0.1.15' },
      { pdu: 'pdu/10.0.0.9', outlet: 4, device: 'asic/10.0.1.16' },
      { pdu: 'pdu/10.0.0.9', outlet: 5, device: 'gpu-node-1' },
      { pdu: 'pdu/10.0.0.9', outlet: 6, device: '10.0.2.5' },
    ],
  });

  it('names a PDU the same way whatever the URL carries', () => {
    expect(pduKey('snmp://public@10.0.0.9')).toBe('snmp://10.0.0.9:161');
    expect(pduKey('snmp://10.0.0.9:161?profile=apc-rpdu2')).toBe('snmp://10.0.0.9:161');
    expect(pduKey('pdu/10.0.0.9')).toBe('pdu/10.0.0.9');
  });

  it('gives a miner polled after its PDU the outlet reading, and enrichment trusts it over the firmware', () => {
    const power = new PowerAttribution(settings);
    const store = new DeviceStore();
    record(power, store, [pdu([{ index: 3, power_w: 3250 }])]);
    record(power, store, [miner()]);
    const m = store.get('asic/10.0.1.15')!;
    expect(m).toMatchObject({ power_w: 3250, power_source: 'pdu', power_by_source_w: { pdu: 3250, reported: 3000 } });
    expect(m.efficiency_j_per_th).toBeCloseTo(3250 / 110, 2);
  });

  it('re-attributes a miner polled before its PDU as soon as the PDU reports, and lets go when the PDU goes down', () => {
    const power = new PowerAttribution(settings);
    const store = new DeviceStore();
    record(power, store, [miner()]);
    expect(store.get('asic/10.0.1.15')!.power_source).toBe('reported');
    record(power, store, [pdu([{ index: 3, power_w: 3300 }])]);
    expect(store.get('asic/10.0.1.15')).toMatchObject({ power_w: 3300, power_source: 'pdu' });
    record(power, store, [pdu([], { up: false, error: 'timeout', error_reason: 'timeout' })]);
    record(power, store, [miner()]);
    expect(store.get('asic/10.0.1.15')).toMatchObject({ power_w: 3000, power_source: 'reported' });
  });

  it('gives a down miner its outlet draw, so the cap and the site count it, and accounts every metered watt once', () => {
    const power = new PowerAttribution(settings);
    const store = new DeviceStore();
    // Outlet 3 feeds the down miner, 4 a running S9, 7 nothing mapped; the PDU's total adds 40 W of its own.
    record(power, store, [
      pdu(
        [
          { index: 3, power_w: 3480 },
          { index: 4, power_w: 1390 },
          { index: 7, power_w: 120 },
        ],
        { power_w: 3480 + 1390 + 120 + 40 },
      ),
    ]);
    record(power, store, [
      miner({ up: false, error: 'timeout', error_reason: 'timeout', hashrate_hs: undefined, power_w: undefined, power_source: undefined }),
      miner({ id: 'asic/10.0.1.16', address: '10.0.1.16', model: 'Antminer S9', hashrate_hs: 13.5e12, power_w: 1300 }),
      // Not on any outlet: counted by its own figure.
      miner({ id: 'asic/10.0.1.99', address: '10.0.1.99', power_w: 3250 }),
    ]);
    expect(store.get('asic/10.0.1.15')).toMatchObject({ up: false, power_w: 3480, power_source: 'pdu' });
    const { accounting, sitePowerW } = power.siteReadings(store);
    expect(accounting.attributedW).toBe(3480 + 1390 + 3250);
    expect(accounting.unattributedMeteredW).toBe(120 + 40);
    // The PDUs' total is what they meter; the miner outside them is the difference a site meter would show.
    expect(sitePowerW).toEqual({ watts: 5030, source: 'pdu_sum' });
    expect(accounting.attributedW + accounting.unattributedMeteredW - 3250).toBe(sitePowerW!.watts);
  });

  it('matches devices by id and by name label, and replaces a catalog estimate', () => {
    const power = new PowerAttribution(settings);
    const store = new DeviceStore();
    record(power, store, [
      pdu([
        { index: 4, power_w: 1400 },
        { index: 5, power_w: 2100 },
      ]),
    ]);
    // An S9 that reports no power gets a catalog estimate from enrich alone; the outlet replaces it.
    record(power, store, [miner({ id: 'asic/10.0.1.16', address: '10.0.1.16', model: 'Antminer S9', hashrate_hs: 13.5e12, power_w: undefined, power_source: undefined })]);
    expect(store.get('asic/10.0.1.16')).toMatchObject({ power_w: 1400, power_source: 'pdu', power_by_source_w: { pdu: 1400 } });
    expect(store.get('asic/10.0.1.16')!.power_by_source_w!.estimated).toBeUndefined();
    record(power, store, [snap({ id: 'host/10.0.2.9', kind: 'host', address: '10.0.2.9', labels: { name: 'gpu-node-1' } })]);
    expect(store.get('host/10.0.2.9')).toMatchObject({ power_w: 2100, power_source: 'pdu' });
  });

  it("keeps GPUs on their own counters and shows the node's wall power beside their sum; heat and site totals add up", async () => {
    const power = new PowerAttribution(settings);
    const store = new DeviceStore();
    const gpu = (uuid: string, w: number) => snap({ id: uuid, kind: 'gpu', address: '10.0.2.5', power_w: w, power_source: 'gpu_counter', labels: { room: 'hall-2', rack: 'g01' } });
    record(power, store, [
      pdu(
        [
          { index: 3, power_w: 3250 },
          { index: 6, power_w: 1500 },
        ],
        { labels: { room: 'hall-1', rack: 'r01' } },
      ),
    ]);
    record(power, store, [gpu('GPU-a', 600), gpu('GPU-b', 650), miner()]);
    expect(store.get('GPU-a')).toMatchObject({ power_w: 600, power_source: 'gpu_counter' });
    record(power, store, [
      snap({ id: 'sensor/10.0.3.1', kind: 'sensor', temperatures_c: { aisle: 24 }, humidity_ratio: { aisle: 0.4 }, labels: { room: 'hall-2' } }),
      snap({ id: 'sensor/10.0.3.2', kind: 'sensor', temperatures_c: { aisle: 26 }, labels: { room: 'hall-2' } }),
    ]);
    const site = power.siteReadings(store);
    expect(site.sitePowerW).toEqual({ watts: 4750, source: 'pdu_sum' });
    expect(site.nodes).toEqual([{ node: '10.0.2.5', gpuPowerW: 1250, wallPowerW: 1500 }]);
    // hall-1/r01 has a PDU labelled there: it measured everything; hall-2/g01 is the node's wall power.
    expect(site.heatLoadW).toEqual(
      expect.arrayContaining([
        { room: 'hall-1', rack: 'r01', watts: 4750 },
        { room: 'hall-2', rack: 'g01', watts: 1500 },
      ]),
    );
    expect(site.ambient).toEqual([{ room: 'hall-2', temperatureC: 25, humidityRatio: 0.4 }]);

    const registry = new Registry();
    registerSiteMetrics(registry, () => power.readings(store));
    const text = await registry.metrics();
    expect(text).toContain('potencia_site_power_watts{source="pdu_sum"} 4750');
    expect(text).toContain('potencia_site_heat_load_watts{room="hall-2",rack="g01"} 1500');
    expect(text).toContain('potencia_node_wall_power_watts{node="10.0.2.5"} 1500');
    expect(text).toContain('potencia_node_gpu_power_watts{node="10.0.2.5"} 1250');
    expect(text).toContain('potencia_room_ambient_temperature_celsius{room="hall-2"} 25');
  });

  it('uses the site meter for site power when one is configured', () => {
    const power = new PowerAttribution(powerSchema.parse({ site_meter: 'snmp://public@10.0.0.1' }));
    const store = new DeviceStore();
    record(power, store, [
      pdu([{ index: 1, power_w: 500 }]),
      snap({ id: 'sensor/10.0.0.1', kind: 'sensor', target: 'snmp://10.0.0.1:161?profile=entity-sensor', power_w: 98_000, power_source: 'reported' }),
    ]);
    expect(power.siteReadings(store).sitePowerW).toEqual({ watts: 98_000, source: 'meter' });
  });
});

const snmpsimd = findTool('snmpsimd');

describe.skipIf(!snmpsimd)('power attribution end to end: simulated miners on a simulated APC PDU', () => {
  let farm: Farm;
  let sim: SnmpSim;
  let agent: Agent;
  // Their sum is a whole number of the rPDU2 device reading's unit (10 W), so site power equals it exactly.
  const OUTLET_W = [3333, 3107];

  beforeAll(async () => {
    farm = await startFarm({ devices: 2, seed: 3, mode: 'port', port: 0, failures: false, models: ['Whatsminer M50S', 'Antminer S19 Pro'] });
    sim = await startSnmpSim({ recordings: [{ community: 'pdu', text: apcRpdu2Recording(OUTLET_W.map((w, i) => ({ name: `miner-${i}`, power_w: w }))) }] });
    const pduUrl = sim.url('pdu');
    const config = configSchema.parse({
      agent: { listen: '127.0.0.1:0' },
      polling: { interval: '1s', timeout: '500ms' },
      targets: [...farm.miners.map((m) => ({ url: m.url, labels: { room: 'hall-1', rack: 'r01' } })), { url: pduUrl, labels: { room: 'hall-1', rack: 'r01' } }],
      power: { outlets: farm.miners.map((m, i) => ({ pdu: pduUrl, outlet: i + 1, device: `asic/${m.host}:${m.port}` })) },
    });
    agent = createAgent({ config, logger: silentLogger });
    await agent.start();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await sim?.stop();
    await farm?.stop();
  });

  it("gives each miner its outlet's watts as pdu power, keeps the firmware figure beside it, and sums the site", async () => {
    const ids = farm.miners.map((m) => `asic/${m.host}:${m.port}`);
    await eventually(() => ids.every((id) => agent.store.get(id)?.power_source === 'pdu') || undefined, 'both miners attributed to their outlets');
    const whatsminer = agent.store.get(ids[0]!)!;
    expect(whatsminer).toMatchObject({ up: true, power_w: OUTLET_W[0], power_source: 'pdu' });
    expect(whatsminer.power_by_source_w!.reported).toBeGreaterThan(0);
    expect(whatsminer.efficiency_j_per_th).toBeCloseTo(OUTLET_W[0]! / (whatsminer.hashrate_hs! / 1e12), 1);
    expect(agent.store.get(ids[1]!)).toMatchObject({ power_w: OUTLET_W[1], power_source: 'pdu' });

    const body = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    expect(body).toMatch(new RegExp(`potencia_device_power_by_source_watts\\{device="${ids[0]}"[^}]*source="pdu"\\} ${OUTLET_W[0]}`));
    expect(body).toMatch(new RegExp(`potencia_device_power_by_source_watts\\{device="${ids[0]}"[^}]*source="reported"\\} `));
    expect(body).toMatch(new RegExp(`potencia_device_power_discrepancy_watts\\{device="${ids[0]}"[^}]*\\} ${whatsminer.power_by_source_w!.reported! - OUTLET_W[0]!}`));
    expect(body).toMatch(/potencia_pdu_outlet_power_watts\{device="pdu\/127\.0\.0\.1:\d+"[^}]*outlet="1"\} 3333/);
    expect(body).toContain(`potencia_site_power_watts{source="pdu_sum"} ${OUTLET_W[0]! + OUTLET_W[1]!}`);
    expect(body).toContain(`potencia_site_heat_load_watts{room="hall-1",rack="r01"} ${OUTLET_W[0]! + OUTLET_W[1]!}`);

    const promtool = findTool('promtool');
    if (!promtool) return;
    const lint = spawnSync(promtool, ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });
});
