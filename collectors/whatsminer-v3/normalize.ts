/**
 * Whatsminer API v3 replies into a device snapshot. `get.device.info` names the machine (type, serial,
 * MAC, firmware, the error codes it raises); `get.miner.status` with `summary`, `pools` and `edevs`
 * carries the readings: hashrates in TH/s, watts under `power-realtime` / `power-5min`, per-board chip
 * temperatures and effective chips.
 */
import { findModel, type ModelSpec } from '../../agent/catalog.js';
import type { BoardSnapshot, DeviceIdentity, DeviceSnapshot, PoolSnapshot } from '../../agent/snapshot.js';
import {
  boardProblems,
  count,
  macOf,
  maxOf,
  num,
  sensorTemperature,
  setBoardTemperatures,
  setIfDefined,
  setReportedPower,
  str,
  temperature,
  toHs,
  watts,
  type Row,
} from '../cgminer/dialects/fields.js';
import { objectAt, rowsAt } from '../json-rows.js';

/** A board under this share of its factory rate is degraded (as the btminer dialect judges). */
const DEGRADED_HASHRATE_RATIO = 0.8;
/** Most error codes one device's `error` lists; the rest are counted. */
const MAX_LISTED_ERROR_CODES = 8;

export interface V3Readings {
  /** `msg` of `get.device.info`; absent when the firmware did not answer it. */
  info?: Row;
  /** `msg` of `get.miner.status`: `summary`, `pools` and `edevs`, from one reply or several. */
  status: Row;
}

export const WHATSMINER_V3_DIALECT = 'whatsminer-v3';

export function normalizeV3(readings: V3Readings, identity: DeviceIdentity, observedAt: Date): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { ...identity, dialect: WHATSMINER_V3_DIALECT, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
  snapshot.vendor = 'MicroBT';
  const miner = objectAt(readings.info, 'miner');
  const type = str(miner?.['type']);
  const spec = findModel(type);
  setIfDefined(snapshot, 'model', spec?.model ?? (type ? `Whatsminer ${type.split(/[._]/, 1)[0]}` : undefined));
  setIfDefined(snapshot, 'firmware', str(objectAt(readings.info, 'system')?.['fwversion']));
  setIfDefined(snapshot, 'serial', str(miner?.['miner-sn']));
  setIfDefined(snapshot, 'mac', macOf(objectAt(readings.info, 'network')?.['mac']));

  const summary = objectAt(readings.status, 'summary');
  const hashrate = thsToHs(summary?.['hash-realtime']) ?? thsToHs(summary?.['hash-1min']) ?? thsToHs(summary?.['hash-average']);
  setIfDefined(snapshot, 'hashrate_hs', hashrate);
  setIfDefined(snapshot, 'nominal_hashrate_hs', positive(thsToHs(summary?.['factory-hash'])));
  setReportedPower(snapshot, watts(summary?.['power-realtime']) ?? watts(summary?.['power-5min']));
  setIfDefined(snapshot, 'power_limit_w', watts(summary?.['power-limit']));
  setIfDefined(snapshot, 'uptime_s', count(summary?.['elapsed']));
  setIfDefined(snapshot.temperatures_c, 'inlet', temperature(summary?.['environment-temperature']));
  setIfDefined(snapshot.temperatures_c, 'chip_max', sensorTemperature(summary?.['chip-temp-max']));
  setIfDefined(snapshot.temperatures_c, 'chip_avg', sensorTemperature(summary?.['chip-temp-avg']));
  snapshot.fans_rpm = [count(summary?.['fan-speed-in']), count(summary?.['fan-speed-out'])].filter((v): v is number => v !== undefined);

  const boardTemperatures = Array.isArray(summary?.['board-temperature']) ? (summary['board-temperature'] as unknown[]) : [];
  const problems: string[] = [];
  const rows = rowsAt(readings.status, 'edevs');
  if (rows.length) {
    const minerHashes = (hashrate ?? 0) > 0;
    const boards = rows.map((row, position) => toBoard(row, position, spec, minerHashes, boardTemperatures));
    snapshot.boards = boards;
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
    if (snapshot.temperatures_c['chip_max'] === undefined) setIfDefined(snapshot.temperatures_c, 'chip_max', maxOf(boards.map((b) => b.chip_temperature_c)));
    problems.push(...boardProblems(boards, spec));
  }
  const codes = errorCodes(readings.info);
  if (codes.length) {
    const listed = codes.slice(0, MAX_LISTED_ERROR_CODES).join(', ');
    problems.push(`firmware error codes ${listed}${codes.length > MAX_LISTED_ERROR_CODES ? ` and ${codes.length - MAX_LISTED_ERROR_CODES} more` : ''}`);
  }
  if (problems.length) snapshot.error = problems.join('; ');
  setIfDefined(snapshot, 'pools', poolsOf(rowsAt(readings.status, 'pools')));
  return snapshot;
}

function toBoard(row: Row, position: number, spec: ModelSpec | undefined, minerHashes: boolean, boardTemperatures: readonly unknown[]): BoardSnapshot {
  const index = count(row['id']) ?? position;
  const board: BoardSnapshot = { index, status: 'ok' };
  const rate = thsToHs(row['hash-realtime']) ?? thsToHs(row['hash-average']);
  setIfDefined(board, 'hashrate_hs', rate);
  setIfDefined(board, 'nominal_hashrate_hs', positive(thsToHs(row['factory-hash'])));
  setIfDefined(board, 'chip_temperature_c', sensorTemperature(row['chip-temp-max']));
  setIfDefined(board, 'board_temperature_c', sensorTemperature(boardTemperatures[index]));
  setIfDefined(board, 'chips', count(row['effective-chips']));
  setIfDefined(board, 'chips_expected', spec?.chips_per_board);
  const status = str(row['status']);
  if (board.chips === 0 || (minerHashes && (rate ?? 0) === 0) || (status !== undefined && status !== 'alive')) board.status = 'dead';
  else if (
    (board.chips_expected !== undefined && board.chips !== undefined && board.chips < board.chips_expected) ||
    (board.nominal_hashrate_hs !== undefined && rate !== undefined && rate < board.nominal_hashrate_hs * DEGRADED_HASHRATE_RATIO)
  )
    board.status = 'degraded';
  return board;
}

function poolsOf(rows: readonly Row[]): PoolSnapshot[] | undefined {
  const pools: PoolSnapshot[] = [];
  for (const row of rows) {
    const url = str(row['url']);
    if (url === undefined) continue;
    const pool: PoolSnapshot = { url };
    setIfDefined(pool, 'user', str(row['account']));
    setIfDefined(pool, 'status', str(row['status']));
    if (typeof row['stratum-active'] === 'boolean') pool.active = row['stratum-active'];
    pools.push(pool);
  }
  return pools.length ? pools : undefined;
}

/** `error-code`: `[{"264": "2026-05-23 09:19:10", "reason": "…"}, …]`, the code the one numeric key. */
function errorCodes(info: Row | undefined): number[] {
  const list = info?.['error-code'];
  if (!Array.isArray(list)) return [];
  const codes: number[] = [];
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null) continue;
    for (const key of Object.keys(entry)) if (/^\d{1,6}$/.test(key)) codes.push(Number(key));
  }
  return codes;
}

function thsToHs(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && n >= 0 ? toHs(n, 1e12) : undefined;
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined;
}
