/**
 * Bitmain Antminer stock firmware (bmminer / cgminer 4.x: S9, S17, S19, T17 families) and the forks
 * that keep its `stats` layout (Hiveon, asicseer, MSKminer) until one of them gets its own dialect.
 * The second STATS row holds everything: `GHS 5s`, per-chain `chain_rateN` / `chain_acnN` /
 * `temp_chipN`, fans `fanN`, nominal `total_rateideal`.
 */
import { findModel, type ModelSpec } from '../../../../agent/catalog.js';
import type { BoardSnapshot, DeviceSnapshot } from '../../../../agent/snapshot.js';
import { firstRowOf, rowsOf, type CgminerReply } from '../../reply.js';
import {
  applySummaryCounters,
  count,
  dashValues,
  maxOf,
  num,
  poolsOf,
  rowHashrate,
  sensorTemperature,
  setBoardTemperatures,
  str,
  temperature,
  toHs,
  unitFactor,
  upSnapshot,
  type Row,
} from '../fields.js';
import type { CgminerDialect, NormalizeContext } from '../types.js';

/** Highest chain slot bmminer reports (S17/T17 print 16, S19 prints 4, S9 uses 6-8 of 16). */
const MAX_CHAINS = 16;
/**
 * Each slot's key names, built once: a template-literal key is a fresh string to hash on every lookup,
 * and a poll looks up about a hundred of them.
 */
const SLOT_KEYS = Array.from({ length: MAX_CHAINS + 1 }, (_, slot) => ({
  fan: `fan${slot}`,
  chips: `chain_acn${slot}`,
  rate: `chain_rate${slot}`,
  ideal: `chain_rateideal${slot}`,
  chipTemps: `temp_chip${slot}`,
  pcbTemps: `temp_pcb${slot}`,
  chipTemp: `temp2_${slot}`,
  pcbTemp: `temp${slot}`,
  hw: `chain_hw${slot}`,
}));
/** A board under this share of its own nominal rate is degraded: normal spread is a few percent. */
const DEGRADED_HASHRATE_RATIO = 0.8;
/** Firmware that reuse the Antminer `Type` but are read by their own dialect (once written). */
const OTHER_FIRMWARE_KEYS = ['LUXminer', 'BOSminer', 'BOSminer+', 'BOSer'];

/** The row naming the miner: STATS[0] (`Type`, `Miner`, `CompileTime`) or else VERSION. */
export function header(reply: CgminerReply): Row | undefined {
  const stats = firstRowOf(reply.stats, 'STATS');
  if (stats && ('Type' in stats || 'BMMiner' in stats)) return stats;
  return firstRowOf(reply.version, 'VERSION');
}

export const antminerDialect: CgminerDialect<'antminer'> = {
  name: 'antminer',
  identify(reply) {
    const version = firstRowOf(reply.version, 'VERSION');
    if (version && OTHER_FIRMWARE_KEYS.some((k) => k in version)) return false;
    const h = header(reply);
    if (!h) return false;
    return 'BMMiner' in h || /^\s*antminer/i.test(str(h['Type']) ?? '');
  },
  normalize(reply, ctx) {
    return normalizeAntminer(reply, ctx, antminerDialect.name);
  },
};

/** Reads bmminer's layout; also the base of the forks that keep it (LuxOS, VNish), named by `dialect`. */
export function normalizeAntminer(reply: CgminerReply, ctx: NormalizeContext, dialect: string): DeviceSnapshot {
  const snapshot = upSnapshot(ctx.target, ctx.observedAt, dialect);
  const head = header(reply);
  const type = str(head?.['Type']);
  const spec = findModel(type);
  const model = spec?.model ?? cleanType(type);
  // Assigned field by field, not through setIfDefined: this runs for most miners of most farms (see there).
  if (model !== undefined) snapshot.model = model;
  const vendor = spec?.vendor ?? (/antminer/i.test(type ?? '') ? 'Bitmain' : undefined);
  if (vendor !== undefined) snapshot.vendor = vendor;
  const firmware = str(head?.['CompileTime']) ?? str(head?.['Miner']) ?? str(head?.['BMMiner']) ?? str(head?.['CGMiner']);
  if (firmware !== undefined) snapshot.firmware = firmware;

  const stats = rowsOf(reply.stats, 'STATS').find((r) => 'ID' in r || 'GHS 5s' in r || 'chain_acn1' in r);
  // bmminer writes its chains' unit in rate_unit; scrypt models (L3+) predate it and mean MH/s under "GHS".
  const unit = unitFactor(stats?.['rate_unit']) ?? (/\bL\d/i.test(type ?? '') ? 1e6 : 1e9);
  const summary = firstRowOf(reply.summary, 'SUMMARY');

  applySummaryCounters(snapshot, summary);
  const hashrate = (summary && rowHashrate(summary, unit)) ?? (stats && rowHashrate(stats, unit));
  if (hashrate !== undefined) snapshot.hashrate_hs = hashrate;
  if (stats) {
    const uptime = snapshot.uptime_s ?? count(stats['Elapsed']);
    if (uptime !== undefined) snapshot.uptime_s = uptime;
    const ideal = num(stats['total_rateideal']);
    if (ideal !== undefined && ideal > 0) snapshot.nominal_hashrate_hs = toHs(ideal, unit);
    snapshot.fans_rpm = fansOf(stats);
    const { boards, problems } = boardsOf(stats, unit, spec, hashrate);
    if (boards.length) snapshot.boards = boards;
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
    const chipMax = maxOf(boards.map((b) => b.chip_temperature_c));
    if (chipMax !== undefined) snapshot.temperatures_c['chip_max'] = chipMax;
    const pcbMax = maxOf(boards.map((b) => b.board_temperature_c));
    if (pcbMax !== undefined) snapshot.temperatures_c['pcb_max'] = pcbMax;
    if (snapshot.hardware_errors === undefined && boards.some((b) => b.hardware_errors !== undefined)) {
      snapshot.hardware_errors = boards.reduce((sum, b) => sum + (b.hardware_errors ?? 0), 0);
    }
    if (problems.length) snapshot.error = problems.join('; ');
  }
  const pools = poolsOf(reply.pools);
  if (pools !== undefined) snapshot.pools = pools;
  return snapshot;
}

/** "Antminer S9\nV1.3.58" → "Antminer S9"; "Antminer S9 Pro (v5.1) " → "Antminer S9 Pro". */
export function cleanType(type: string | undefined): string | undefined {
  if (!type) return undefined;
  return str(type.split(/\r?\n/, 1)[0]!.replace(/\s*\(.*?\)\s*$/, ''));
}

/**
 * bmminer prints fixed slots (fan1..fan16) and counts the spinning ones in fan_num. When it prints
 * exactly fan_num slots, all are fans, stopped ones included; when it prints more, the zero slots are
 * empty headers, not fans.
 */
function fansOf(stats: Row): number[] {
  const slots: number[] = [];
  for (let i = 1; i <= MAX_CHAINS; i++) {
    const v = count(stats[SLOT_KEYS[i]!.fan]);
    if (v === undefined) {
      if (!(SLOT_KEYS[i]!.fan in stats)) break;
      continue;
    }
    slots.push(v);
  }
  const fanNum = count(stats['fan_num']);
  return fanNum !== undefined && slots.length === fanNum ? slots : slots.filter((rpm) => rpm > 0);
}

interface Chain {
  slot: number;
  chips?: number;
  hashrate?: number;
  nominal?: number;
  chipTemp?: number;
  pcbTemp?: number;
  hw?: number;
}

function readChain(stats: Row, slot: number, unit: number): Chain {
  const keys = SLOT_KEYS[slot]!;
  const chipTemps = dashValues(stats[keys.chipTemps]);
  const pcbTemps = dashValues(stats[keys.pcbTemps]);
  const rate = num(stats[keys.rate]);
  const ideal = num(stats[keys.ideal]);
  return {
    slot,
    chips: count(stats[keys.chips]),
    hashrate: rate !== undefined && rate >= 0 ? toHs(rate, unit) : undefined,
    nominal: ideal !== undefined && ideal > 0 ? toHs(ideal, unit) : undefined,
    // Older bmminer (S9) has no dash strings: temp2_N is the chip, tempN the PCB; 0 is an empty slot.
    chipTemp: chipTemps.length ? sensorMax(chipTemps) : sensorTemperature(stats[keys.chipTemp]),
    pcbTemp: pcbTemps.length ? sensorMax(pcbTemps) : sensorTemperature(stats[keys.pcbTemp]),
    hw: count(stats[keys.hw]),
  };
}

/** Hottest plausible reading; all-zero means no sensor answered. */
function sensorMax(values: readonly (number | undefined)[]): number | undefined {
  let max: number | undefined;
  let anyNonZero = false;
  for (const value of values) {
    const t = temperature(value);
    if (t === undefined) continue;
    if (t !== 0) anyNonZero = true;
    if (max === undefined || t > max) max = t;
  }
  return anyNonZero ? max : undefined;
}

function isPopulated(c: Chain): boolean {
  return (c.chips ?? 0) > 0 || (c.hashrate ?? 0) > 0 || c.chipTemp !== undefined || c.pcbTemp !== undefined;
}

function boardsOf(stats: Row, unit: number, spec: ModelSpec | undefined, minerHashrate: number | undefined): { boards: BoardSnapshot[]; problems: string[] } {
  const chains: Chain[] = [];
  for (let slot = 1; slot <= MAX_CHAINS; slot++) {
    if (!(SLOT_KEYS[slot]!.chips in stats) && !(SLOT_KEYS[slot]!.rate in stats)) continue;
    chains.push(readChain(stats, slot, unit));
  }
  const present = chains.filter(isPopulated);
  const expectedBoards = spec?.hashboards;
  const lastSlot = chains.length ? chains[chains.length - 1]!.slot : 0;
  const missingSlots = expectedBoards
    ? locateMissing(
        present.map((c) => c.slot),
        expectedBoards,
        lastSlot,
      )
    : [];
  // A board that lost every chip looks like an empty slot; where the model says a board belongs, it is one.
  const located = missingSlots.map((slot) => chains.find((c) => c.slot === slot) ?? { slot });
  // `present` is in slot order already; only boards located in gaps need sorting in.
  const boardChains = located.length ? [...present, ...located].sort((a, b) => a.slot - b.slot) : present;

  const minerHashes = (minerHashrate ?? 0) > 0;
  const boards = boardChains.map((c) => toBoard(c, spec?.chips_per_board, minerHashes));
  const total = Math.max(boards.length, expectedBoards ?? 0);
  const problems: string[] = [];
  boards.forEach((b, position) => {
    if (b.status !== 'dead') return;
    const name = b.index + 1 === position + 1 ? `board ${position + 1} of ${total}` : `board ${position + 1} of ${total} (chain ${b.index + 1})`;
    const chips = b.chips_expected !== undefined ? `${b.chips ?? 0} of ${b.chips_expected} chips` : `${b.chips ?? 0} chips`;
    problems.push(b.chips === 0 || b.chips === undefined ? `${name} dead: ${chips}` : `${name} dead: no hashrate (${chips})`);
  });
  const unlocated = expectedBoards !== undefined ? expectedBoards - present.length - missingSlots.length : 0;
  if (unlocated > 0) problems.push(`${unlocated} of ${expectedBoards} boards not detected`);
  return { boards, problems };
}

/**
 * Which chain slots the missing boards sit in, when the reply says so unambiguously: the boards of one
 * miner occupy consecutive slots (1-3 on S19, 6-8 on S9), so a window of `expected` slots holding
 * every present board, starting at slot 1 or being the only one possible, names the gaps.
 */
function locateMissing(presentSlots: number[], expected: number, lastSlot: number): number[] {
  if (presentSlots.length === 0 || presentSlots.length >= expected) return [];
  const lo = presentSlots[0]!;
  const hi = presentSlots[presentSlots.length - 1]!;
  const starts: number[] = [];
  for (let s = Math.max(1, hi - expected + 1); s <= lo && s + expected - 1 <= lastSlot; s++) starts.push(s);
  const start = starts[0] === 1 ? 1 : starts.length === 1 ? starts[0] : undefined;
  if (start === undefined) return [];
  const missing: number[] = [];
  for (let s = start; s < start + expected; s++) if (!presentSlots.includes(s)) missing.push(s);
  return missing;
}

function toBoard(c: Chain, chipsExpected: number | undefined, minerHashes: boolean): BoardSnapshot {
  // Index is the firmware's chain number less one: stable when another board drops out.
  const board: BoardSnapshot = { index: c.slot - 1, status: 'ok' };
  if (c.hashrate !== undefined) board.hashrate_hs = c.hashrate;
  if (c.nominal !== undefined) board.nominal_hashrate_hs = c.nominal;
  if (c.chipTemp !== undefined) board.chip_temperature_c = c.chipTemp;
  if (c.pcbTemp !== undefined) board.board_temperature_c = c.pcbTemp;
  if (c.chips !== undefined) board.chips = c.chips;
  if (chipsExpected !== undefined) board.chips_expected = chipsExpected;
  if (c.hw !== undefined) board.hardware_errors = c.hw;
  if (c.chips === 0 || (c.chips === undefined && c.hashrate === undefined) || (minerHashes && c.hashrate === 0)) board.status = 'dead';
  else if (
    (c.chips !== undefined && chipsExpected !== undefined && c.chips < chipsExpected) ||
    (minerHashes && c.hashrate !== undefined && c.nominal !== undefined && c.hashrate < c.nominal * DEGRADED_HASHRATE_RATIO)
  )
    board.status = 'degraded';
  return board;
}
