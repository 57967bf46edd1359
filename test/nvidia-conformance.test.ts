/**
 * Every real nvidia-smi capture under ../shared/fixtures/nvidia (H100, H100 MIG, H200, H200 MIG, L40S,
 * RTX 4080 SUPER, RTX 2080 SUPER on Linux and Windows, drivers 590 to 610) goes through the collector's
 * own parsing: the field list from its --help-query-gpu section, and its idle and load --query-gpu
 * sections (`--format=csv`, header and units included) read into snapshots whose values are checked
 * against the capture.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsvWithHeader, parseHelpQueryGpu, planForColumns, planQuery, readGpuRow } from '../collectors/nvidia/index.js';
import { sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('nvidia');
const present = FIXTURES !== undefined;

/** The capture's sections by title (`capabilities :: help-query-gpu`, `idle :: query-gpu (csv, …)`). */
function sections(text: string): Map<string, string> {
  const parts = text.replace(/\r\n/g, '\n').split(/^#{80}\n# (.*)\n(?:# \$ .*\n)?#{80}\n/m);
  const out = new Map<string, string>();
  for (let i = 1; i < parts.length; i += 2) out.set(parts[i]!.trim(), parts[i + 1]!);
  return out;
}

/** [power W, utilization ratio, GPU °C, memory °C, SM MHz, memory MiB used, pstate, active reasons, fan ratio] */
type Reading = [number, number | undefined, number, number | undefined, number, number, string, string[], number | undefined];

interface Expected {
  name: string;
  driver: string;
  busId: string;
  memoryTotalMiB: number;
  limitW: number;
  ecc: boolean;
  mig: boolean | undefined;
  idle: Reading;
  load: Reading;
}

const GEFORCE_2080S = { name: 'NVIDIA GeForce RTX 2080 SUPER', busId: '00000000:0C:00.0', memoryTotalMiB: 8192, limitW: 250, ecc: false, mig: undefined };
const H100 = { name: 'NVIDIA H100 80GB HBM3', driver: '590.48.01', busId: '00000000:00:09.0', memoryTotalMiB: 81559, limitW: 700, ecc: true };
const H200 = { name: 'NVIDIA H200', driver: '590.48.01', busId: '00000000:83:00.0', memoryTotalMiB: 143771, limitW: 700, ecc: true };

/** Read off each capture by hand. */
const EXPECTED: Record<string, Expected> = {
  'linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt': {
    ...GEFORCE_2080S,
    driver: '595.71.05',
    // power.draw.average is [N/A] on Turing: the reading comes from power.draw.
    idle: [39.32, 0, 40, undefined, 765, 214, 'P8', ['sw_power_cap'], 0.38],
    load: [111.5, 0.08, 45, undefined, 2055, 819, 'P2', [], 0.38],
  },
  'linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04.txt': {
    ...GEFORCE_2080S,
    driver: '610.57.04',
    idle: [39.17, 0, 33, undefined, 765, 211, 'P8', ['gpu_idle'], 0.38],
    load: [98.14, 0.08, 38, undefined, 2070, 815, 'P2', [], 0.38],
  },
  'linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.txt': {
    name: 'NVIDIA GeForce RTX 4080 SUPER',
    driver: '595.71.05',
    busId: '00000000:01:00.0',
    memoryTotalMiB: 16376,
    limitW: 320,
    ecc: false,
    mig: undefined,
    idle: [26.2, 0, 43, undefined, 210, 596, 'P8', ['gpu_idle'], 0],
    load: [84.24, 0.07, 46, undefined, 2805, 1474, 'P2', [], 0],
  },
  'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt': {
    ...H100,
    mig: false,
    idle: [69.85, 0, 41, 48, 345, 0, 'P0', ['gpu_idle'], undefined],
    load: [631.95, 1, 59, 54, 1980, 19818, 'P0', [], undefined],
  },
  'linux-x86_64__nvidia-h100-mig__590.48.01.txt': {
    // In MIG mode the whole-GPU utilization is [N/A].
    ...H100,
    mig: true,
    idle: [71.15, undefined, 42, 48, 345, 59, 'P0', ['gpu_idle'], undefined],
    load: [433.78, undefined, 53, 59, 1980, 11125, 'P0', [], undefined],
  },
  'linux-x86_64__nvidia-h200-mig__590.48.01.txt': {
    ...H200,
    mig: true,
    idle: [78.28, undefined, 28, 32, 345, 55, 'P0', ['gpu_idle'], undefined],
    load: [295.01, undefined, 36, 39, 1980, 16959, 'P0', [], undefined],
  },
  'linux-x86_64__nvidia-h200__590.48.01.txt': {
    ...H200,
    mig: false,
    idle: [77.71, 0, 28, 32, 345, 0, 'P0', ['gpu_idle'], undefined],
    load: [627.4, 1, 52, 40, 1980, 32362, 'P0', [], undefined],
  },
  'linux-x86_64__nvidia-l40s__595.80.txt': {
    name: 'NVIDIA L40S',
    driver: '595.80',
    busId: '00000000:01:00.0',
    memoryTotalMiB: 46068,
    limitW: 350,
    ecc: true,
    mig: undefined,
    idle: [144.97, 1, 63, undefined, 2520, 0, 'P0', [], undefined],
    load: [110.23, 0.09, 54, undefined, 2520, 1235, 'P0', [], undefined],
  },
  'windows-x86_64__nvidia-geforce-rtx-2080-super__591.86.txt': {
    ...GEFORCE_2080S,
    driver: '591.86',
    idle: [38.92, 0, 40, undefined, 300, 702, 'P8', ['gpu_idle'], 0.37],
    load: [97.43, 0.07, 45, undefined, 2055, 1296, 'P2', ['gpu_idle'], 0.38],
  },
  'windows-x86_64__nvidia-geforce-rtx-2080-super__610.62.txt': {
    ...GEFORCE_2080S,
    driver: '610.62',
    idle: [39.25, 0, 40, undefined, 300, 797, 'P8', ['gpu_idle'], 0.38],
    load: [97.99, 0.07, 44, undefined, 2040, 1366, 'P2', [], 0.38],
  },
};

const captures = present
  ? readdirSync(FIXTURES!)
      .filter((f) => f.endsWith('.txt'))
      .sort()
  : [];
const target = { url: 'nvidia-smi:', host: 'localhost', labels: {} };
const observedAt = new Date('2026-07-14T08:12:38Z');

describe.skipIf(!present)('nvidia-smi captures', () => {
  it('has an expectation for every capture, so a new one cannot slip through unchecked', () => {
    expect(captures.length).toBeGreaterThanOrEqual(10);
    expect(captures).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const file of captures) {
    describe(file, () => {
      const parts = sections(readFileSync(path.join(FIXTURES!, file), 'utf8'));
      const expected = EXPECTED[file]!;

      it('learns the newer field names from --help-query-gpu', () => {
        const help = parts.get('capabilities :: help-query-gpu');
        expect(help).toBeDefined();
        const listed = parseHelpQueryGpu(help!);
        expect(listed.size).toBeGreaterThan(150);
        // Every driver here lists both spellings; the plan asks for the current one only.
        expect(listed.has('clocks_throttle_reasons.active')).toBe(true);
        const plan = planQuery(listed);
        expect(plan.fields).toContain('clocks_event_reasons.active');
        expect(plan.fields).not.toContain('clocks_throttle_reasons.active');
        expect(plan.fields).toEqual(expect.arrayContaining(['power.draw.average', 'power.draw', 'power.draw.instant', 'enforced.power.limit', 'uuid', 'index', 'memory.used']));
        expect(plan.fields).not.toContain('total_energy_consumption');
      });

      for (const phase of ['idle', 'load'] as const) {
        it(`reads the ${phase} query-gpu row`, () => {
          const csv = [...parts].find(([title]) => title.startsWith(`${phase} :: query-gpu`))?.[1];
          expect(csv).toBeDefined();
          const { fields, output } = parseCsvWithHeader(csv!);
          expect(output.problems).toEqual([]);
          expect(output.rows).toHaveLength(1);
          const s = readGpuRow(output.rows[0]!, planForColumns(fields), { target, observedAt });
          const [powerW, utilization, tempGpu, tempMemory, smMHz, usedMiB, pstate, reasons, fan] = expected[phase];
          expect(s).toMatchObject({
            id: 'gpu/localhost/GPU-00000000-0000-0000-0000-000000000000',
            kind: 'gpu',
            up: true,
            model: expected.name,
            firmware: expected.driver,
            power_w: powerW,
            power_source: 'gpu_counter',
          });
          expect(s.temperatures_c).toEqual(tempMemory === undefined ? { gpu: tempGpu } : { gpu: tempGpu, memory: tempMemory });
          expect(s.fans_rpm).toEqual([]);
          const gpu = s.gpu!;
          expect(gpu).toMatchObject({
            index: 0,
            uuid: 'GPU-00000000-0000-0000-0000-000000000000',
            name: expected.name,
            driver_version: expected.driver,
            pci_bus_id: expected.busId,
            memory_total_bytes: expected.memoryTotalMiB * 1048576,
            memory_used_bytes: usedMiB * 1048576,
            power_limit_w: expected.limitW,
            sm_clock_hz: smMHz * 1e6,
            pstate,
            throttle_reasons: reasons,
          });
          expect(gpu.utilization_ratio).toBe(utilization);
          expect(gpu.fan_speed_ratio).toBe(fan);
          expect(gpu.mig_enabled).toBe(expected.mig);
          if (expected.ecc) expect(gpu).toMatchObject({ ecc_errors_corrected: 0, ecc_errors_uncorrected: 0 });
          else expect(gpu.ecc_errors_corrected).toBeUndefined();
          // The driver's energy counter is not a query-gpu field in any of these drivers: the agent integrates.
          expect(gpu.energy_j).toBeUndefined();
        });
      }

      it('lists the same GPU with nvidia-smi -L', () => {
        expect(parts.get('capabilities :: list (-L)')).toContain(`GPU 0: ${expected.name} (UUID: GPU-00000000-0000-0000-0000-000000000000)`);
      });
    });
  }
});
