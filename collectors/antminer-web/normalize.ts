/**
 * Antminer stock web API replies into a device snapshot: `get_system_info.cgi` names the machine
 * (model, serial, MAC, firmware build), `stats.cgi` carries per-chain rates, chip and PCB temperatures
 * and, on 2023+ firmware, `watt`; `summary.cgi` the machine's rates, hardware errors and status list;
 * `pools.cgi` the pools. Rates are in `rate_unit` (GH/s on every capture).
 */
import { findModel, type ModelSpec } from '../../agent/catalog.js';
import type { BoardSnapshot, DeviceIdentity, DeviceSnapshot, PoolSnapshot } from '../../agent/snapshot.js';
import {
  boardProblems,
  count,
  maxOf,
  num,
  sensorTemperature,
  setBoardTemperatures,
  setIfDefined,
  setReportedPower,
  str,
  toHs,
  unitFactor,
  watts,
  type Row,
} from '../cgminer/dialects/fields.js';
import { objectAt, rowsAt } from '../json-rows.js';

export const ANTMINER_WEB_DIALECT = 'antminer-web';
/** A chain under this share of its ideal rate is degraded. */
const DEGRADED_HASHRATE_RATIO = 0.8;
const MAC = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;

export interface AntminerWebReplies {
  systemInfo?: Row;
  stats?: Row;
  summary?: Row;
  pools?: Row;
}

export function normalizeAntminerWeb(replies: AntminerWebReplies, identity: DeviceIdentity, observedAt: Date): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { ...identity, dialect: ANTMINER_WEB_DIALECT, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
  snapshot.vendor = 'Bitmain';
  const info = replies.systemInfo;
  const reportedModel = str(info?.['minertype']) ?? str(objectAt(replies.stats, 'INFO')?.['type']) ?? str(objectAt(replies.summary, 'INFO')?.['type']);
  const spec = findModel(reportedModel);
  setIfDefined(snapshot, 'model', spec?.model ?? reportedModel);
  setIfDefined(snapshot, 'firmware', str(info?.['system_filesystem_version']) ?? str(objectAt(replies.stats, 'INFO')?.['CompileTime']));
  setIfDefined(snapshot, 'serial', str(info?.['serinum']));
  const mac = str(info?.['macaddr'])?.toUpperCase();
  if (mac !== undefined && MAC.test(mac)) snapshot.mac = mac;

  const stats = rowsAt(replies.stats, 'STATS')[0];
  const summary = rowsAt(replies.summary, 'SUMMARY')[0];
  const factor = unitFactor(stats?.['rate_unit'] ?? summary?.['rate_unit']) ?? 1e9;
  const rate = (v: unknown) => {
    const n = num(v);
    return n !== undefined && n >= 0 ? toHs(n, factor) : undefined;
  };
  const hashrate = rate(summary?.['rate_5s']) ?? rate(stats?.['rate_5s']);
  setIfDefined(snapshot, 'hashrate_hs', hashrate);
  const ideal = rate(summary?.['rate_ideal']) ?? rate(stats?.['rate_ideal']);
  if (ideal !== undefined && ideal > 0) snapshot.nominal_hashrate_hs = ideal;
  setIfDefined(snapshot, 'uptime_s', count(summary?.['elapsed']) ?? count(stats?.['elapsed']));
  setIfDefined(snapshot, 'hardware_errors', count(summary?.['hw_all']));
  setReportedPower(snapshot, watts(stats?.['watt']));
  const fans = Array.isArray(stats?.['fan']) ? (stats['fan'] as unknown[]) : [];
  snapshot.fans_rpm = fans.map(count).filter((v): v is number => v !== undefined);

  const problems: string[] = [];
  const chains = rowsAt(stats, 'chain');
  if (chains.length) {
    const minerHashes = (hashrate ?? 0) > 0;
    const boards = chains.map((chain, position) => toBoard(chain, position, spec, minerHashes, rate));
    snapshot.boards = boards;
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
    setIfDefined(snapshot.temperatures_c, 'chip_max', maxOf(boards.map((b) => b.chip_temperature_c)));
    setIfDefined(snapshot.temperatures_c, 'pcb_max', maxOf(boards.map((b) => b.board_temperature_c)));
    problems.push(...boardProblems(boards, spec));
  }
  problems.push(...statusProblems(summary));
  if (problems.length) snapshot.error = problems.join('; ');
  setIfDefined(snapshot, 'pools', poolsOf(rowsAt(replies.pools, 'POOLS')));
  return snapshot;
}

function toBoard(chain: Row, position: number, spec: ModelSpec | undefined, minerHashes: boolean, rate: (v: unknown) => number | undefined): BoardSnapshot {
  const board: BoardSnapshot = { index: count(chain['index']) ?? position, status: 'ok' };
  const real = rate(chain['rate_real']);
  setIfDefined(board, 'hashrate_hs', real);
  const ideal = rate(chain['rate_ideal']);
  if (ideal !== undefined && ideal > 0) board.nominal_hashrate_hs = ideal;
  setIfDefined(board, 'chip_temperature_c', maxOf(numbers(chain['temp_chip']).map(sensorTemperature)));
  setIfDefined(board, 'board_temperature_c', maxOf(numbers(chain['temp_pcb']).map(sensorTemperature)));
  setIfDefined(board, 'chips', count(chain['asic_num']));
  setIfDefined(board, 'chips_expected', spec?.chips_per_board);
  if (board.chips === 0 || (minerHashes && (real ?? 0) === 0)) board.status = 'dead';
  else if (
    (board.chips_expected !== undefined && board.chips !== undefined && board.chips < board.chips_expected) ||
    (board.nominal_hashrate_hs !== undefined && real !== undefined && real < board.nominal_hashrate_hs * DEGRADED_HASHRATE_RATIO)
  )
    board.status = 'degraded';
  return board;
}

/** summary.cgi's `status` list: `{"type":"rate","status":"s"|"w"|"e","code","msg"}`; an empty status is "not monitored" (fans on hydro). */
function statusProblems(summary: Row | undefined): string[] {
  const list = summary?.['status'];
  if (!Array.isArray(list)) return [];
  const problems: string[] = [];
  for (const entry of list.slice(0, 16)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Row;
    const state = str(e['status']);
    if (state === undefined || state === 's') continue;
    const msg = str(e['msg'])?.slice(0, 80);
    problems.push(`${str(e['type'])?.slice(0, 20) ?? 'status'} ${state === 'e' ? 'error' : state === 'w' ? 'warning' : state.slice(0, 10)}${msg ? `: ${msg}` : ''}`);
  }
  return problems;
}

function poolsOf(rows: readonly Row[]): PoolSnapshot[] | undefined {
  const pools: PoolSnapshot[] = [];
  for (const row of rows) {
    const url = str(row['url']);
    if (url === undefined) continue;
    const pool: PoolSnapshot = { url };
    setIfDefined(pool, 'user', str(row['user']));
    setIfDefined(pool, 'status', str(row['status']));
    setIfDefined(pool, 'accepted_shares', count(row['accepted']));
    setIfDefined(pool, 'rejected_shares', count(row['rejected']));
    setIfDefined(pool, 'stale_shares', count(row['stale']));
    pools.push(pool);
  }
  return pools.length ? pools : undefined;
}

function numbers(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
