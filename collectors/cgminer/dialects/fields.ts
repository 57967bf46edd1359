/**
 * Reading CGMiner fields as firmware really sends them: numbers as strings, `""` or `-273` for "no
 * reading", hashrates under MHS/GHS/THS keys. Every reader returns undefined for "not reported",
 * never 0, so an absent field stays absent in the snapshot.
 */
import type { ModelSpec } from '../../../agent/catalog.js';
import type { BoardSnapshot, DeviceSnapshot, PoolSnapshot } from '../../../agent/snapshot.js';
import { hostPort, urlHost, type Target } from '../../contract.js';
import { descriptionOf, rowsOf, type CgminerReply, type CgminerResponse } from '../reply.js';

export type Row = Record<string, unknown>;

export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The number a value starts with, for firmware that writes units beside it: "3250 W" → 3250,
 * "1071.5W" → 1071.5, 3250 → 3250; undefined for "" or a value that does not start with a number.
 */
export function leadingNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  const m = typeof v === 'string' ? /^\s*(-?\d+(?:\.\d+)?)/.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}

/** A watt figure: a positive reading, else undefined (firmware prints 0 for "no PSU data"). */
export function watts(v: unknown): number | undefined {
  const n = leadingNumber(v);
  return n !== undefined && n > 0 ? n : undefined;
}

export function str(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s === '' ? undefined : s;
}

/** A count that cannot be negative (shares, errors, chips). */
export function count(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && n >= 0 ? n : undefined;
}

/**
 * Sensors report -273 (absolute zero) or wild values such as -83 °C when disconnected; below -40 °C or
 * above 150 °C no miner is running, so such a figure is a fault of the sensor, not a temperature.
 */
export const PLAUSIBLE_TEMPERATURE_C = { min: -40, max: 150 } as const;

export function temperature(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && n >= PLAUSIBLE_TEMPERATURE_C.min && n <= PLAUSIBLE_TEMPERATURE_C.max ? n : undefined;
}

/** A temperature from firmware that writes 0 for a sensor it does not have (bosminer, btminer). */
export function sensorTemperature(v: unknown): number | undefined {
  const t = temperature(v);
  return t === 0 ? undefined : t;
}

/**
 * What a miner's boards say is wrong, for its `error`: each dead board, and boards the model should
 * have that the firmware did not list.
 */
export function boardProblems(boards: readonly BoardSnapshot[], spec: ModelSpec | undefined): string[] {
  const problems: string[] = [];
  const total = Math.max(boards.length, spec?.hashboards ?? 0);
  for (const b of boards) {
    if (b.status === 'dead') problems.push(`board ${b.index + 1} of ${total} dead: ${b.chips ?? 0} chips${b.chips_expected ? ` of ${b.chips_expected}` : ''}, no hashrate`);
  }
  if (spec && boards.length < spec.hashboards) problems.push(`${spec.hashboards - boards.length} of ${spec.hashboards} boards not detected`);
  return problems;
}

/**
 * Parses bmminer's dash-joined sensor strings, where a minus sign doubles the separator:
 * "57-57-73-73" → [57, 57, 73, 73], "2--1-20-22" → [2, -1, 20, 22], "-8--11-10-12" → [-8, -11, 10, 12].
 */
export function dashValues(v: unknown): number[] {
  if (typeof v !== 'string' || v === '') return [];
  const values: number[] = [];
  let negative = false;
  let start = 0;
  for (let i = 0; i <= v.length; i++) {
    if (i < v.length && v.charCodeAt(i) !== DASH) continue;
    if (i === start) negative = true;
    else {
      const n = wholeNumber(v, start, i) ?? Number(v.slice(start, i));
      if (Number.isFinite(n)) values.push(negative ? -n : n);
      negative = false;
    }
    start = i + 1;
  }
  return values;
}

const DASH = 0x2d;

/** The digits v[from, to) as a number, read in place; undefined when anything else stands there. */
function wholeNumber(v: string, from: number, to: number): number | undefined {
  let n = 0;
  for (let i = from; i < to; i++) {
    const digit = v.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    n = n * 10 + digit;
  }
  return n;
}

export function maxOf(values: readonly (number | undefined)[]): number | undefined {
  let max: number | undefined;
  for (const v of values) if (v !== undefined && (max === undefined || v > max)) max = v;
  return max;
}

export const HASH_UNIT_FACTOR: Record<string, number> = { H: 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

/** "GH", "GH/s", "ghs", "T" → its factor to H/s. */
export function unitFactor(unit: unknown): number | undefined {
  const u = str(unit)
    ?.toUpperCase()
    .replace(/(H\/?S?|\/S)$/, '');
  return u === undefined ? undefined : HASH_UNIT_FACTOR[u === '' ? 'H' : u];
}

/** A rate in H/s: whole hashes, so 34942.48 GH/s is not 34942480000000.004. */
export function toHs(value: number, factor: number): number {
  return Math.round(value * factor);
}

/** Rate windows in order of preference: the freshest the firmware gives. */
const RATE_WINDOWS = ['5s', '30s', '1m', 'RT', '5m', 'av'] as const;
const RATE_PREFIXES = [
  ['THS', 1e12],
  ['GHS', 1e9],
  ['MHS', 1e6],
  ['KHS', 1e3],
] as const;
/** `<unit>HS <window>` keys with their factors, freshest window first; built once, as every poll reads them. */
const RATE_KEYS: readonly (readonly [string, number])[] = RATE_WINDOWS.flatMap((window) => RATE_PREFIXES.map(([prefix, factor]) => [`${prefix} ${window}`, factor] as const));

/**
 * The current hashrate of a row in H/s from whichever `<unit>HS <window>` key it carries.
 * `unitOverride` is the factor the firmware really means when it reuses a key for another unit
 * (bmminer writes MH/s under "GHS 5s" on scrypt models; `rate_unit` says so on newer ones).
 */
export function rowHashrate(row: Row, unitOverride?: number): number | undefined {
  for (const [key, factor] of RATE_KEYS) {
    const v = num(row[key]);
    if (v !== undefined && v >= 0) return toHs(v, unitOverride ?? factor);
  }
  const hsRt = num(row['HS RT']);
  return hsRt !== undefined && hsRt >= 0 ? hsRt : undefined;
}

type CgminerIdentity = Readonly<Pick<DeviceSnapshot, 'id' | 'kind' | 'target' | 'labels' | 'address'>>;

/**
 * Id, kind and addressing every cgminer snapshot carries, up or down; made once per target, as every
 * snapshot of the device holds them and the store keys on the id.
 */
const IDENTITIES = new WeakMap<Target, CgminerIdentity>();
export function cgminerIdentity(target: Target): CgminerIdentity {
  let identity = IDENTITIES.get(target);
  if (identity === undefined) {
    const id = target.port === 4028 ? `asic/${urlHost(target.host)}` : `asic/${hostPort(target.host, target.port)}`;
    identity = Object.freeze({ id, kind: 'asic', target: target.url, labels: target.labels, address: target.host });
    IDENTITIES.set(target, identity);
  }
  return identity;
}

export function upSnapshot(target: Target, observedAt: Date, dialect: string): DeviceSnapshot {
  return { ...cgminerIdentity(target), dialect, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
}

/** The first STATUS Description among the replies that matches `pattern`: where firmware names itself ("LUXminer 2025.4.8", "btminer"). */
export function descriptionMatching(reply: CgminerReply, pattern: RegExp): string | undefined {
  for (const command in reply) {
    const description = descriptionOf(reply[command]);
    if (description !== undefined && pattern.test(description)) return description;
  }
  return undefined;
}

/** Sets `power_by_source_w.reported`: what the firmware says it draws. enrich picks the source to trust. */
export function setReportedPower(snapshot: DeviceSnapshot, w: number | undefined): void {
  if (w === undefined) return;
  snapshot.power_by_source_w = { ...snapshot.power_by_source_w, reported: Math.round(w) };
}

/** "C4:11:04:01:3C:75" as is; Avalon's bare "123456789012" gets its colons. */
export function macOf(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  return /^[0-9a-f]{12}$/i.test(s) ? s.match(/../g)!.join(':').toUpperCase() : s.toUpperCase();
}

/** Share and error counters from a SUMMARY row. */
export function applySummaryCounters(snapshot: DeviceSnapshot, row: Row | undefined): void {
  if (!row) return;
  // Assigned field by field, not through setIfDefined: see there.
  const accepted = count(row['Accepted']);
  if (accepted !== undefined) snapshot.accepted_shares = accepted;
  const rejected = count(row['Rejected']);
  if (rejected !== undefined) snapshot.rejected_shares = rejected;
  const stale = count(row['Stale']);
  if (stale !== undefined) snapshot.stale_shares = stale;
  const hardwareErrors = count(row['Hardware Errors']);
  if (hardwareErrors !== undefined) snapshot.hardware_errors = hardwareErrors;
  const uptime = count(row['Elapsed']);
  if (uptime !== undefined) snapshot.uptime_s = uptime;
}

export function poolsOf(response: CgminerResponse | undefined): PoolSnapshot[] | undefined {
  const rows = rowsOf(response, 'POOLS');
  if (rows.length === 0) return undefined;
  const pools: PoolSnapshot[] = [];
  for (const row of rows) {
    const url = str(row['URL']);
    if (url === undefined) continue;
    const pool: PoolSnapshot = { url };
    const user = str(row['User']);
    if (user !== undefined) pool.user = user;
    const status = str(row['Status']);
    if (status !== undefined) pool.status = status;
    const active = row['Stratum Active'];
    if (typeof active === 'boolean') pool.active = active;
    const accepted = count(row['Accepted']);
    if (accepted !== undefined) pool.accepted_shares = accepted;
    const rejected = count(row['Rejected']);
    if (rejected !== undefined) pool.rejected_shares = rejected;
    const stale = count(row['Stale']);
    if (stale !== undefined) pool.stale_shares = stale;
    pools.push(pool);
  }
  return pools;
}

/**
 * `board{N}_chip` / `board{N}_pcb` keys, made once per board number: a key built on every poll is a
 * fresh string to hash and look up in V8's string table on every store.
 */
const BOARD_TEMPERATURE_KEYS: { chip: string; pcb: string }[] = [];
const MAX_CACHED_BOARD = 64;

/** A board's chip and PCB readings into the snapshot's `temperatures_c`, under `board{N}_chip` / `board{N}_pcb`. */
export function setBoardTemperatures(temperatures: Record<string, number>, board: BoardSnapshot): void {
  const i = board.index;
  const keys = BOARD_TEMPERATURE_KEYS[i] ?? { chip: `board${i}_chip`, pcb: `board${i}_pcb` };
  if (i >= 0 && i <= MAX_CACHED_BOARD && Number.isInteger(i)) BOARD_TEMPERATURE_KEYS[i] = keys;
  setIfDefined(temperatures, keys.chip, board.chip_temperature_c);
  setIfDefined(temperatures, keys.pcb, board.board_temperature_c);
}

/**
 * Assigns only a real value, so "not reported" stays an absent key rather than `undefined`. Its one
 * keyed store serves every caller, so V8 finds it megamorphic and adds each property the slow way
 * (bench/README.md): what runs on every poll of every miner (the summary counters, pools,
 * the Antminer reader) assigns field by field instead.
 */
export function setIfDefined<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
