/**
 * Every captured reply under ../shared/fixtures/cgminer goes through repair + normalize: nothing throws
 * anything but a CgminerError, and each CGMiner reply yields a snapshot holding what it holds, or a
 * clear error.
 *
 * Skipped, by rule: (1) asic-rs `*_parsed.json`, that library's own parse output rather than a device
 * reply; (2) files that parse as JSON but have neither a top-level `STATUS` (list or string) nor the
 * multi-command shape, i.e. web, REST, GraphQL and gRPC replies. Rule (2) is checked against the known
 * non-CGMiner sources below, so a CGMiner reply can never be skipped unnoticed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CgminerError, isCgminerShaped, normalizeReply, parseCgminerJson, toCgminerReply } from '../collectors/cgminer/index.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import type { Target } from '../collectors/contract.js';
import { sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('cgminer');
const present = FIXTURES !== undefined;

/** Sources known not to speak the CGMiner API: what rule (2) may skip. */
const NON_CGMINER = [
  /asic-rs\/braiins\/v2[1-6]_\d+\/(gql_|web_|actions_|configuration_|cooling_|miner_|network|performance_|pools|version)/,
  /asic-rs\/(bitaxe|epic|proto)\//,
  /asic-rs\/elphapex\//,
  /asic-rs\/whatsminer\/v3\//,
  /asic-rs\/sealminer\/v2025\/(get_system_info|miner_psu_status)/,
  /asic-rs\/antminer\/v2020\/system_info/,
  /pyasic\/\w+_web_/,
  /field\/goldshell-http_/,
];

const target: Target = { url: 'cgminer://10.0.1.15:4028', scheme: 'cgminer', host: '10.0.1.15', port: 4028, labels: { rack: 'r1' }, intervalMs: 30_000, timeoutMs: 5_000 };
const observedAt = new Date('2026-01-01T00:00:00Z');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.md') ? [] : [path.join(dir, e.name)]));
}

type Outcome = { kind: 'snapshot'; snapshot: DeviceSnapshot } | { kind: 'error'; error: CgminerError } | { kind: 'skipped' };

function run(file: string): Outcome {
  let value: unknown;
  try {
    value = parseCgminerJson(readFileSync(file, 'utf8')).value;
  } catch (err) {
    if (err instanceof CgminerError) return { kind: 'error', error: err };
    throw err;
  }
  if (!isCgminerShaped(value)) return { kind: 'skipped' };
  try {
    return { kind: 'snapshot', snapshot: normalizeReply(toCgminerReply(value), { target, observedAt }) };
  } catch (err) {
    if (err instanceof CgminerError) return { kind: 'error', error: err };
    throw err;
  }
}

const files = present
  ? walk(FIXTURES!)
      .filter((f) => !f.endsWith('_parsed.json'))
      .sort()
  : [];
const rel = (f: string) => path.relative(FIXTURES!, f);
const outcomes = new Map(files.map((f) => [rel(f), run(f)]));
const snapshotOf = (name: string): DeviceSnapshot => {
  const o = outcomes.get(name);
  if (o?.kind !== 'snapshot') throw new Error(`${name}: expected a snapshot, got ${o?.kind}${o?.kind === 'error' ? `: ${o.error.message}` : ''}`);
  return o.snapshot;
};

describe.skipIf(!present)('cgminer conformance over shared fixtures', () => {
  it('reads the fixture tree', () => {
    expect(files.length).toBeGreaterThan(200);
  });

  it.each(files.map(rel))('%s: a snapshot or a clear error, never a crash', (name) => {
    const outcome = outcomes.get(name)!;
    if (outcome.kind === 'skipped') {
      expect(
        NON_CGMINER.some((re) => re.test(name)),
        `${name} was skipped as non-CGMiner`,
      ).toBe(true);
      return;
    }
    if (outcome.kind === 'error') {
      expect(['malformed', 'api_error']).toContain(outcome.error.reason);
      expect(outcome.error.message.length).toBeGreaterThan(10);
      return;
    }
    const s = outcome.snapshot;
    expect(s.up).toBe(true);
    expect(s.id).toBe('asic/10.0.1.15');
    expect(s.kind).toBe('asic');
    expect(s.dialect).toBeTruthy();
    // Absent, never a made-up zero or NaN: every number in the snapshot is finite.
    const numbers = JSON.stringify(s).match(/:(-?[\d.e+]+|null)[,}\]]/g) ?? [];
    expect(numbers.filter((n) => n.includes('null'))).toEqual([]);
    const raw = readFileSync(path.join(FIXTURES!, name), 'utf8');
    if (/"(GHS|MHS|THS) (5s|av)"\s*:\s*"?[\d.]+/.test(raw)) expect(s.hashrate_hs, 'a reply with a rate yields a hashrate').toBeTypeOf('number');
    if (/"POOLS"\s*:\s*\[\s*\{/.test(raw) && /"URL"/.test(raw)) expect(s.pools?.length).toBeGreaterThan(0);
    if (/"Accepted"\s*:\s*\d/.test(raw) && /"SUMMARY"/.test(raw)) expect(s.accepted_shares).toBeTypeOf('number');
  });

  it('never skips a reply in the CGMiner shape and fails only where the reply is broken or an error', () => {
    const errors = [...outcomes].filter(([, o]) => o.kind === 'error').map(([n, o]) => [n, (o as { error: CgminerError }).error.reason]);
    for (const [name, reason] of errors) {
      if (reason === 'malformed') expect(name).toMatch(/\.txt$/);
    }
    // The text-mode captures cannot be read as JSON and must say why.
    const text = outcomes.get('field/cgminer-4.11.1-local_nohw_summary_text.txt');
    expect(text?.kind === 'error' && text.error.message).toMatch(/text format/);
  });

  it('reads the Antminer S19 Pro captures', () => {
    const s = snapshotOf('field/antminer-stock_S19Pro_stats.json');
    expect(s.dialect).toBe('antminer');
    expect(s.vendor).toBe('Bitmain');
    expect(s.model).toBe('Antminer S19 Pro');
    expect(s.firmware).toBe('Wed Oct 21 10:18:10 CST 2020');
    expect(s.hashrate_hs).toBeCloseTo(110786.79e9, -3);
    expect(s.nominal_hashrate_hs).toBeCloseTo(111859e9, -3);
    expect(s.uptime_s).toBe(82852);
    expect(s.fans_rpm).toEqual([5520, 5400, 5040, 5040]);
    expect(s.boards?.map((b) => [b.index, b.status, b.chips, b.chips_expected])).toEqual([
      [0, 'ok', 114, 114],
      [1, 'ok', 114, 114],
      [2, 'ok', 114, 114],
    ]);
    expect(s.boards?.[0]?.hashrate_hs).toBeCloseTo(37735.24e9, -3);
    // "really cold": negative readings inside dash strings, "2--1-20-22" is 2, -1, 20, 22.
    expect(s.boards?.[0]?.board_temperature_c).toBe(22);
    expect(s.boards?.[0]?.chip_temperature_c).toBe(27);
    expect(s.temperatures_c['chip_max']).toBe(27);
    expect(s.hardware_errors).toBe(1527 + 2752 + 269);
    expect(s.error).toBeUndefined();

    const warm = snapshotOf('field/antminer-stock_S19Pro_stats_2025.json');
    expect(warm.temperatures_c).toMatchObject({ board0_chip: 78, board1_chip: 71, board2_chip: 69, board0_pcb: 73, chip_max: 78 });
    expect(warm.nominal_hashrate_hs).toBe(110000e9);
    const summary = snapshotOf('field/antminer-stock_S19Pro_summary_2025.json');
    expect(summary.hashrate_hs).toBeCloseTo(110566.89e9, -3);
    expect(summary).toMatchObject({ accepted_shares: 4057, rejected_shares: 11, stale_shares: 1, hardware_errors: 562, uptime_s: 50474 });
  });

  it('reads the Antminer S17 Pro capture (16 slots, only 3 boards and 4 fans real)', () => {
    const s = snapshotOf('field/antminer-stock_S17Pro_stats.json');
    expect(s.model).toBe('Antminer S17 Pro');
    expect(s.hashrate_hs).toBeCloseTo(54997.01e9, -3);
    expect(s.nominal_hashrate_hs).toBeCloseTo(53619e9, -3);
    expect(s.fans_rpm).toEqual([2400, 3000, 3120, 2400]);
    expect(s.boards?.map((b) => [b.index, b.status, b.chips, b.chip_temperature_c, b.board_temperature_c])).toEqual([
      [0, 'ok', 48, 80, 53],
      [1, 'ok', 48, 75, 53],
      [2, 'ok', 48, 63, 45],
    ]);
  });

  it('repairs the `}{` of old bmminer and reads an S9 on chains 6-8 with a broken sensor', () => {
    const s = snapshotOf('field/antminer-stock_S9-V1.3.58_stats.txt');
    expect(s.model).toBe('Antminer S9');
    expect(s.hashrate_hs).toBeCloseTo(13883.81e9, -3);
    expect(s.boards?.map((b) => b.index)).toEqual([5, 6, 7]);
    expect(s.boards?.map((b) => b.chip_temperature_c)).toEqual([62, undefined, 62]); // -83 °C is a sensor fault
    expect(s.fans_rpm).toEqual([3720, 2400]);
  });

  it('reads an L3+ in MH/s although its keys say GHS', () => {
    expect(snapshotOf('field/antminer-stock_L3+_stats.txt').hashrate_hs).toBeCloseTo(504.56e6, -1);
  });

  it('reports the missing board of the sleeping S19 while staying up', () => {
    const s = snapshotOf('field/antminer-stock_S19_stats_sleeping.json');
    expect(s.up).toBe(true);
    expect(s.hashrate_hs).toBe(0);
    expect(s.boards?.map((b) => [b.index, b.status, b.chips])).toEqual([
      [0, 'dead', 0],
      [1, 'ok', 76],
      [2, 'ok', 76],
    ]);
    expect(s.error).toBe('board 1 of 3 dead: 0 of 76 chips');
  });

  it('turns error replies into api_error with the device message', () => {
    const o = outcomes.get('field/cgminer-4.11.1-local_nohw_error_unknown_command.json');
    expect(o?.kind === 'error' && [o.error.reason, o.error.message]).toEqual(['api_error', '10.0.1.15:4028 answered "Invalid command" (STATUS E, code 14)']);
  });

  it('reads the joined reply of a real miner (Avalon A10)', () => {
    const s = snapshotOf('field/avalon_A10xx_pools+summary+stats.json');
    expect(s.hashrate_hs).toBeCloseTo(32247416.81e6, -3);
    expect(s.pools?.length).toBeGreaterThan(0);
  });

  /** Several captures of one miner read together, each filed under the command that asked for it. */
  const together = (files: Record<string, string>): DeviceSnapshot => {
    const reply = Object.fromEntries(
      Object.entries(files).map(([command, name]) => [command, toCgminerReply(parseCgminerJson(readFileSync(path.join(FIXTURES!, name), 'utf8')).value, command)[command]]),
    );
    return normalizeReply(reply, { target, observedAt });
  };

  it('reads Whatsminer M20S: power, limit, nominal, the quoted firmware behind the illegal escape, boards', () => {
    const s = snapshotOf('field/whatsminer_M20S_summary.txt');
    expect(s).toMatchObject({ dialect: 'whatsminer', vendor: 'MicroBT', firmware: '20200917.22.REL', mac: 'C4:11:04:01:3C:75', uptime_s: 66295, power_limit_w: 3500 });
    expect(s.power_by_source_w).toEqual({ reported: 3491 });
    expect(s.hashrate_hs).toBe(64143777950000);
    expect(s.nominal_hashrate_hs).toBe(67051e9);
    expect(s.temperatures_c).toEqual({ inlet: 28.5, chip_max: 87.7, chip_avg: 79.34, pcb_max: 72 });
    expect(s.fans_rpm).toEqual([4950, 4920]);
    expect(s.error).toBeUndefined();

    const full = together({
      summary: 'field/whatsminer_M20S_summary_2025.json',
      devs: 'field/whatsminer_M20S_devs_2025.json',
      get_version: 'field/whatsminer_M20S_get_version.json',
    });
    expect(full.boards?.map((b) => [b.index, b.status, b.chips, b.chip_temperature_c, b.board_temperature_c])).toEqual([
      [0, 'ok', 105, 90, 70],
      [1, 'ok', 105, 90.11, 69.5],
      [2, 'ok', 105, 92.5, 71.5],
    ]);
    expect(full.boards?.[1]?.hashrate_hs).toBe(25567317810000);
    expect(full.power_by_source_w).toEqual({ reported: 3417 });
    expect(full.firmware).toBe('20210322.22.REL');
  });

  it('reads Whatsminer M31S error codes and the v2 API summary', () => {
    const m31 = snapshotOf('field/whatsminer_M31S_summary.json');
    expect(m31).toMatchObject({ power_limit_w: 3600, power_by_source_w: { reported: 3553 }, nominal_hashrate_hs: 75697e9, error: 'firmware error codes 110, 111, 131' });
    expect(m31.fans_rpm).toEqual([5700, 0]);
    const v2 = snapshotOf('asic-rs/whatsminer/v2/summary.json');
    // No MHS 5s on this firmware: the average is the freshest rate it gives.
    expect(v2).toMatchObject({ hashrate_hs: 125e12, nominal_hashrate_hs: 126e12, power_by_source_w: { reported: 3200 }, power_limit_w: 3300, mac: 'D4:01:02:03:04:05' });
    const version = together({
      get_version: 'asic-rs/whatsminer/v2/get_version.json',
      get_miner_info: 'asic-rs/whatsminer/v2/get_miner_info.json',
      summary: 'asic-rs/whatsminer/v2/summary.json',
    });
    expect(version).toMatchObject({ dialect: 'whatsminer', firmware: '20230803.11.REL', mac: 'D4:01:02:03:04:05' });
  });

  it('reads Avalon A1566 estats: bracketed temps, fans, wall power, per-board rates', () => {
    const s = together({ stats: 'field/avalon_A1566_estats.json', version: 'field/avalon_A1566_version.json' });
    expect(s).toMatchObject({
      dialect: 'avalon',
      vendor: 'Canaan',
      model: 'AvalonMiner A1566',
      firmware: '24102401_25462b2_9ddf522',
      mac: '12:34:56:78:90:12',
      serial: '020100008c699117',
      uptime_s: 975,
    });
    expect(s.hashrate_hs).toBe(199241.07e9);
    expect(s.power_by_source_w).toEqual({ reported: 3731 });
    expect(s.temperatures_c).toMatchObject({ inlet: 31, chip_max: 78, chip_avg: 70 });
    expect(s.fans_rpm).toEqual([4275, 4282]);
    expect(s.boards?.map((b) => [b.index, b.status, b.hashrate_hs, b.chip_temperature_c])).toEqual([
      [0, 'ok', 59459.52e9, 77],
      [1, 'ok', 61407.83e9, 78],
      [2, 'ok', 63139.66e9, 77],
    ]);
    expect(snapshotOf('pyasic/CGMinerAvalon1566_rpc_estats.json').power_by_source_w).toEqual({ reported: 3731 });
  });

  it('reads the PS[] watts of each Avalon generation and the idle Avalon Q', () => {
    // Seven numbers: the 7th is the wall draw. Six: the 5th, the PSU output. All zero: no reading.
    expect(snapshotOf('field/avalon_A1246_stats.json')).toMatchObject({ model: 'AvalonMiner A1246', power_by_source_w: { reported: 3504 } });
    expect(snapshotOf('field/avalon_A1246_stats.json').fans_rpm).toEqual([5344, 5392, 5349, 5309]);
    expect(snapshotOf('field/avalon_A10xx_stats.json')).toMatchObject({ model: 'AvalonMiner 1047', power_by_source_w: { reported: 2288 } });
    expect(snapshotOf('field/avalon_A10xx_pools+summary+stats.json').power_by_source_w).toBeUndefined();
    const q = snapshotOf('field/avalon_Q_stats.json');
    expect(q).toMatchObject({ dialect: 'avalon', model: 'AvalonMiner Q', hashrate_hs: 0, temperatures_c: { inlet: 26 } });
    const a7 = snapshotOf('field/avalon_A7xx_stats.json');
    expect(a7.boards).toHaveLength(10);
    expect(a7.fans_rpm).toHaveLength(10);
  });

  it('reads BOSminer temps, fans, devs and version', () => {
    const s = together({
      summary: 'field/braiins-bosminer_S9_summary.json',
      temps: 'field/braiins-bosminer_S9_temps.json',
      fans: 'field/braiins-bosminer_S9_fans.json',
      version: 'field/braiins-bosminer_S9_version.json',
    });
    expect(s).toMatchObject({ dialect: 'braiins', firmware: 'BOSminer+ 0.2.0-36c56a9363', hashrate_hs: 15740915842676, hardware_errors: 186, uptime_s: 3680 });
    expect(s.fans_rpm).toEqual([2820, 3780, 0, 0]);
    // The S9 has no chip sensors: bosminer's 0.0 is not a reading.
    expect(s.boards?.map((b) => [b.index, b.board_temperature_c, b.chip_temperature_c])).toEqual([
      [0, 75, undefined],
      [1, 63, undefined],
      [2, 70, undefined],
    ]);
    expect(s.temperatures_c['pcb_max']).toBe(75);
    const devs = snapshotOf('field/braiins-bosminer_S9_devs.json');
    expect(devs.nominal_hashrate_hs).toBe(3 * 4668300e6);
    expect(devs.boards?.map((b) => b.nominal_hashrate_hs)).toEqual([4668300e6, 4668300e6, 4668300e6]);
    expect(snapshotOf('field/braiins-boser_unknown_version.json')).toMatchObject({ dialect: 'braiins', firmware: 'BOSer boser-buildroot 0.1.0-75912fc7' });
  });

  it('reads LuxOS: bmminer-shaped stats, the power reply, the running profile', () => {
    expect(snapshotOf('field/luxos_S19kPro_power.json')).toMatchObject({ dialect: 'luxos', power_by_source_w: { reported: 1051 } });
    const s = together({
      summary: 'field/luxos_S19kPro_summary.json',
      stats: 'field/luxos_S19kPro_stats.json',
      version: 'field/luxos_S19kPro_version.json',
      devs: 'field/luxos_S19kPro_devs.json',
      power: 'field/luxos_S19kPro_power.json',
      profiles: 'field/luxos_S19kPro_profiles.json',
    });
    expect(s).toMatchObject({ dialect: 'luxos', vendor: 'Bitmain', model: 'Antminer S19k Pro', firmware: 'LuxOS 2025.4.8.220305-57b389c7', hashrate_hs: 59756.06e9 });
    expect(s.power_by_source_w).toEqual({ reported: 1051 });
    // devs says "290MHz"; that profile is 59.8 TH/s.
    expect(s.nominal_hashrate_hs).toBe(59.8e12);
    expect(s.boards?.map((b) => [b.index, b.status, b.chips, b.chips_expected])).toEqual([
      [0, 'ok', 77, 77],
      [1, 'ok', 77, 77],
      [2, 'ok', 77, 77],
    ]);
    expect(s.fans_rpm).toEqual([1920, 1920, 2340, 2340]);
  });

  it('reads VNish on an S9 through the Antminer layout and names the firmware', () => {
    const s = snapshotOf('field/antminer-vnish_S9_stats.txt');
    expect(s).toMatchObject({ dialect: 'vnish', vendor: 'Bitmain', model: 'Antminer S9', firmware: 'VNish 3.8.6', hashrate_hs: 12795.48e9 });
    expect(s.boards?.map((b) => b.chips)).toEqual([63, 63, 63]);
    // VNish 3.8.6 writes no watts; nothing is made up.
    expect(s.power_by_source_w).toBeUndefined();
    expect(snapshotOf('field/antminer-hiveon_S9_stats.txt').dialect).toBe('antminer');
  });
});
