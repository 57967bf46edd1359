import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../agent/log.js';
import { collectOnce } from '../agent/scheduler.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { buildTargets } from '../agent/targets.js';
import { createCollector } from '../collectors/registry.js';
import { configSchema } from '../config/schema.js';
import { startDemoPdus, type DemoPdus } from '../simulator/demo-pdu.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { findTool } from './helpers.js';

const snmpsimd = findTool('snmpsimd');
const HOUR_MS = 3_600_000;

/** The demo's PDUs read over SNMP, as the agent reads them, against the simulator's own physics. */
describe.skipIf(!snmpsimd)('demo PDUs meter the simulated miners live', () => {
  let farm: Farm;
  let pdus: DemoPdus;
  let nowMs = Date.parse('2026-01-01T00:00:00Z');

  beforeAll(async () => {
    // Seed 73 has miner 6 dead and a failed board on miner 7.
    farm = await startFarm({ devices: 8, seed: 73, mode: 'port', port: 0 });
    expect(farm.faults()).toEqual({ dead: [6], failedBoards: [{ index: 7, board: 0 }] });
    pdus = (await startDemoPdus(farm, () => ({ room: 'hall-1', rack: 'r01' }), silentLogger, { refreshMs: HOUR_MS, now: () => nowMs }))!;
  }, 60_000);

  afterAll(async () => {
    await pdus?.stop();
    await farm?.stop();
  });

  async function readPdu(): Promise<DeviceSnapshot> {
    const config = configSchema.parse({ targets: pdus.targets.map((t) => ({ url: t.url })) });
    const [target] = buildTargets(config);
    const [snapshot] = await collectOnce(createCollector(target!, { maxResponseBytes: 1 << 20, snmpSettings: () => config.snmp }), new AbortController().signal);
    return snapshot!;
  }

  it("gives each outlet its miner's draw now: a failed board draws less, a dead miner only its standby; the total adds up", async () => {
    expect(pdus.targets).toHaveLength(1);
    expect(pdus.power.outlets.map((o) => o.device)).toEqual(farm.miners.map((m) => `asic/${m.host}:${m.port}`));
    await pdus.refresh();
    const pdu = await readPdu();
    expect(pdu.up).toBe(true);
    const outlets = pdu.outlets!;
    expect(outlets).toHaveLength(8);
    farm.miners.forEach((miner, i) => {
      const watts = outlets[i]!.power_w!;
      if (i === 6) expect(watts).toBe(Math.round(miner.model.nominal_power_w * 0.01));
      // The physics drifts by up to 1 % a minute: the reading now and the one metered a moment ago agree to 2 %.
      else expect(Math.abs(watts - farm.readingOf(i).powerW) / watts).toBeLessThan(0.02);
    });
    // Two of three boards hashing: about 0.15 + 0.85 × 2/3 of nameplate once warm, never the full figure.
    expect(outlets[7]!.power_w!).toBeLessThan(farm.miners[7]!.model.nominal_power_w * 0.8);
    const sum = outlets.reduce((s, o) => s + o.power_w!, 0);
    // The device total is in tens of watts and holds the PDU's own 20 W.
    expect(Math.abs(pdu.power_w! - (sum + 20))).toBeLessThanOrEqual(5);

    // Three phases share the load; each current is its power over 230 V, within a 63 A PDU's rating.
    const phases = pdu.phases!;
    expect(phases).toHaveLength(3);
    expect(Math.abs(phases.reduce((s, p) => s + p.power_w!, 0) - pdu.power_w!)).toBeLessThanOrEqual(30);
    for (const phase of phases) {
      expect(phase.voltage_v).toBe(230);
      expect(phase.current_a!).toBeCloseTo(phase.power_w! / 230, 0);
      expect(phase.current_a!).toBeLessThan(63);
    }
  });

  it('integrates energy over time, a counter per outlet', async () => {
    await pdus.refresh();
    const before = await readPdu();
    nowMs += HOUR_MS;
    await pdus.refresh();
    const after = await readPdu();
    const counters = before.outlets!.map((o) => o.energy_j!);
    expect(new Set(counters).size).toBe(8);
    after.outlets!.forEach((o, i) => {
      // One hour at its draw, in joules, to the counter's tenth of a kWh and the draw's drift.
      const gained = o.energy_j! - before.outlets![i]!.energy_j!;
      expect(Math.abs(gained - o.power_w! * 3600)).toBeLessThanOrEqual(0.1 * 3.6e6 + o.power_w! * 3600 * 0.02);
    });
    const pduGained = after.energy_j! - before.energy_j!;
    expect(Math.abs(pduGained - after.power_w! * 3600)).toBeLessThanOrEqual(0.1 * 3.6e6 + after.power_w! * 3600 * 0.02);
  });
});
