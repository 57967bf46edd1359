/**
 * Goldshell web API replies into a device snapshot. None of them is CGMiner-shaped:
 *   /mcb/status   {"model":"Goldshell-CK5","firmware":"2.0.1","hardware":…}        (no login needed)
 *   /mcb/cgminer?cgminercmd=devs  {"status":2,"data":[one row per hash board]}: `hashrate` and
 *                 `av_hashrate` in MH/s of the machine's own algorithm, `temp` as "83.0 °C / 73.8 °C"
 *                 (the LT5 writes `r_temp`, `l_temp`, `t_temp`, `m_temp` instead), `fanspeed` as
 *                 "2940 rpm / 2940 rpm" (the machine's fans, repeated on every row), `accepted`,
 *                 `rejected`, `hwerrors`, `time` (seconds mining)
 *   /mcb/setting  `name` is the MAC address
 *   /mcb/pools    [{url, user, active, pass, …}]: the pool password is never kept
 * No reply carries a power figure; enrich estimates one from the catalog row.
 */
import { findModel } from '../../agent/catalog.js';
import type { BoardSnapshot, DeviceIdentity, DeviceSnapshot, PoolSnapshot } from '../../agent/snapshot.js';
import { count, maxOf, num, sensorTemperature, setBoardTemperatures, setIfDefined, str, toHs, type Row } from '../cgminer/dialects/fields.js';

export const GOLDSHELL_DIALECT = 'goldshell';
const MAC = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;
const MHS = 1e6;
/** Numbers in a temperature or fan string ("83.0 Â°C / 73.8 Â°C", "6060 rpm / 6120 rpm"). */
const NUMBER = /-?\d+(?:\.\d+)?/g;
/** At most this many numbers are read from one such string: a firmware has four fans and two sensors. */
const MAX_VALUES_PER_STRING = 16;
const LT_TEMPERATURE_KEYS = ['r_temp', 'l_temp', 't_temp', 'm_temp'] as const;

/** Each reply by its endpoint; any but `status` may be missing (no account, a firmware that refused it). */
export interface GoldshellReplies {
  status?: Row;
  devs?: unknown;
  setting?: Row;
  pools?: unknown;
}

export function normalizeGoldshell(replies: GoldshellReplies, identity: DeviceIdentity, observedAt: Date): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { ...identity, dialect: GOLDSHELL_DIALECT, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
  snapshot.vendor = 'Goldshell';
  const reported = str(replies.status?.['model']);
  const spec = findModel(reported);
  const model = spec?.model ?? (reported === undefined ? undefined : reported.replace(/^goldshell[-\s]*/i, 'Goldshell ').trim());
  setIfDefined(snapshot, 'model', model === 'Goldshell' ? undefined : model);
  // Goldshell sells no SHA-256 miner: a model the catalog lacks still mines something else.
  snapshot.algorithm = spec?.algorithm ?? 'unknown';
  setIfDefined(snapshot, 'firmware', str(replies.status?.['firmware']));
  const mac = str(replies.setting?.['name'])?.toUpperCase();
  if (mac !== undefined && MAC.test(mac)) snapshot.mac = mac;

  const rows = devRows(replies.devs);
  if (rows.length) {
    const rates = rows.map((row) => rate(row['hashrate']) ?? rate(row['av_hashrate']));
    const hashing = rates.some((r) => (r ?? 0) > 0);
    const problems: string[] = [];
    const boards = rows.map((row, position): BoardSnapshot => {
      const board: BoardSnapshot = { index: count(row['id']) ?? position, status: 'ok' };
      setIfDefined(board, 'hashrate_hs', rates[position]);
      setIfDefined(board, 'board_temperature_c', boardTemperature(row));
      setIfDefined(board, 'hardware_errors', count(row['hwerrors']));
      if (hashing && (rates[position] ?? 0) === 0) {
        board.status = 'dead';
        problems.push(`board ${board.index + 1} of ${rows.length} not hashing`);
      }
      return board;
    });
    snapshot.boards = boards;
    if (rates.some((r) => r !== undefined)) snapshot.hashrate_hs = rates.reduce<number>((sum, r) => sum + (r ?? 0), 0);
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
    setIfDefined(snapshot.temperatures_c, 'pcb_max', maxOf(boards.map((b) => b.board_temperature_c)));
    snapshot.fans_rpm = fansOf(rows);
    setIfDefined(snapshot, 'uptime_s', maxOf(rows.map((row) => count(row['time']))));
    setIfDefined(snapshot, 'accepted_shares', sum(rows, 'accepted'));
    setIfDefined(snapshot, 'rejected_shares', sum(rows, 'rejected'));
    setIfDefined(snapshot, 'hardware_errors', sum(rows, 'hwerrors'));
    if (problems.length) snapshot.error = problems.join('; ');
  }
  setIfDefined(snapshot, 'pools', poolsOf(replies.pools));
  return snapshot;
}

/** The rows of a devs reply; an empty list when it has none. */
export function devRows(devs: unknown): Row[] {
  const data = typeof devs === 'object' && devs !== null ? (devs as Row)['data'] : undefined;
  return Array.isArray(data) ? data.filter((row): row is Row => typeof row === 'object' && row !== null && !Array.isArray(row)) : [];
}

/** MH/s into whole H/s; a negative or non-numeric rate is no reading. */
function rate(value: unknown): number | undefined {
  const mhs = num(value);
  return mhs !== undefined && mhs >= 0 ? toHs(mhs, MHS) : undefined;
}

function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [value] : [];
  if (typeof value !== 'string') return [];
  const found: number[] = [];
  for (const m of value.matchAll(NUMBER)) {
    found.push(Number(m[0]));
    if (found.length === MAX_VALUES_PER_STRING) break;
  }
  return found;
}

/**
 * The hottest of a board's readings: the firmware names none of its sensors, and the single figure the
 * newer firmware and its stock page show is the board sensor's. 0.0 is a sensor the board does not have.
 */
function boardTemperature(row: Row): number | undefined {
  const values = row['temp'] !== undefined ? numbersIn(row['temp']) : LT_TEMPERATURE_KEYS.flatMap((key) => numbersIn(row[key]));
  return maxOf(values.map((v) => sensorTemperature(v)));
}

/** The machine's fans: every row repeats them, read a moment apart, so the slowest reading of each is kept. */
function fansOf(rows: readonly Row[]): number[] {
  const fans: number[] = [];
  for (const row of rows) {
    numbersIn(row['fanspeed']).forEach((rpm, i) => {
      if (rpm < 0) return;
      fans[i] = fans[i] === undefined ? rpm : Math.min(fans[i]!, rpm);
    });
  }
  return fans.filter((rpm) => rpm !== undefined);
}

function sum(rows: readonly Row[], key: string): number | undefined {
  const values = rows.map((row) => count(row[key])).filter((v): v is number => v !== undefined);
  return values.length ? values.reduce((a, v) => a + v, 0) : undefined;
}

function poolsOf(pools: unknown): PoolSnapshot[] | undefined {
  if (!Array.isArray(pools)) return undefined;
  const out: PoolSnapshot[] = [];
  for (const row of pools) {
    if (typeof row !== 'object' || row === null) continue;
    const url = str((row as Row)['url']);
    if (url === undefined) continue;
    const pool: PoolSnapshot = { url };
    setIfDefined(pool, 'user', str((row as Row)['user']));
    const active = (row as Row)['active'];
    if (typeof active === 'boolean') pool.active = active;
    out.push(pool);
  }
  return out.length ? out : undefined;
}
