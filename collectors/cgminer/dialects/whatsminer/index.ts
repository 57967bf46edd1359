/**
 * MicroBT Whatsminer (btminer, a cgminer 4.9.2 fork): the SUMMARY row carries the whole machine —
 * `Power` / `Power_RT` watts, `Power Limit`, `Factory GHS` (nominal), `Chip Temp Max/Avg`, `Env Temp`,
 * `Fan Speed In/Out`, `MAC`, `Firmware Version` (quoted, and on some firmware with the illegal `\'`
 * escape that repair() fixes). `devs` / `edevs` hold one row per hashboard (`Effective Chips`,
 * `Chip Temp Max`, `Chip Frequency`); `devdetails` names the model ("M30S++.VH40"); `get_version`
 * and `get_miner_info` answer in btminer's own shape: a string STATUS beside a `Msg` object.
 *
 * btminer rejects what it does not know with `{"STATUS":"E","Code":14,"Msg":"invalid cmd"}`: `stats`
 * on newer firmware, and `get_*` in a join (pyasic's BTMiner API sends those on their own and joins
 * the rest). So a first poll falls back to single commands, and from the next one on the cgminer
 * commands go in one join; those refusals are not faults of the miner.
 */
import { findModel, type ModelSpec } from '../../../../agent/catalog.js';
import type { BoardSnapshot, DeviceSnapshot } from '../../../../agent/snapshot.js';
import { firstRowOf, rowsOf, type CgminerReply } from '../../reply.js';
import {
  applySummaryCounters,
  boardProblems,
  count,
  descriptionMatching,
  macOf,
  maxOf,
  num,
  poolsOf,
  rowHashrate,
  sensorTemperature,
  setBoardTemperatures,
  setIfDefined,
  setReportedPower,
  str,
  temperature,
  toHs,
  upSnapshot,
  watts,
  type Row,
} from '../fields.js';
import type { CgminerDialect, NormalizeContext } from '../types.js';

/** A board under this share of its factory rate is degraded. */
const DEGRADED_HASHRATE_RATIO = 0.8;
const WHATSMINER_DESCRIPTION = /btminer|whatsminer/i;
/** Keys only btminer's SUMMARY has. */
const SUMMARY_MARKERS = ['Power_RT', 'Factory GHS', 'Fan Speed In', 'Chip Temp Avg', 'Power Limit'];

const EXTRA_COMMANDS = ['edevs', 'devdetails', 'get_version', 'get_miner_info'] as const;

export const whatsminerDialect: CgminerDialect<'whatsminer'> = {
  name: 'whatsminer',
  extraCommands: EXTRA_COMMANDS,
  joinCommands: ['summary', 'pools', 'edevs', 'devdetails'],
  optionalCommands: ['stats', 'devs', ...EXTRA_COMMANDS],
  // The model, which needs no asking on every poll.
  staticCommands: ['devdetails'],
  needs(command, reply) {
    const summary = firstRowOf(reply.summary, 'SUMMARY');
    if (command === 'get_version') return unquote(summary?.['Firmware Version']) === undefined;
    if (command === 'get_miner_info') return str(summary?.['MAC']) === undefined;
    return true;
  },
  identify(reply) {
    if (descriptionMatching(reply, WHATSMINER_DESCRIPTION)) return true;
    if (msgOf(reply.get_version) !== undefined) return true;
    const summary = firstRowOf(reply.summary, 'SUMMARY');
    if (summary && SUMMARY_MARKERS.some((k) => k in summary)) return true;
    if (boardRows(reply).some((r) => r['Name'] === 'SM' && ('Effective Chips' in r || 'Chip Temp Max' in r))) return true;
    return rowsOf(reply.stats, 'STATS').some((r) => /^SM\d+$/.test(str(r['ID']) ?? ''));
  },
  normalize(reply, ctx) {
    return normalizeWhatsminer(reply, ctx);
  },
};

/** btminer's own replies: `{"STATUS":"S","Msg":{...}}`. */
function msgOf(response: Record<string, unknown> | undefined): Row | undefined {
  const msg = response?.['Msg'];
  return typeof msg === 'object' && msg !== null && !Array.isArray(msg) ? (msg as Row) : undefined;
}

function boardRows(reply: CgminerReply): Row[] {
  const edevs = rowsOf(reply.edevs, 'DEVS');
  return edevs.length ? edevs : rowsOf(reply.devs, 'DEVS');
}

/** "'20200917.22.REL'" → "20200917.22.REL": btminer quotes the version inside the string. */
function unquote(v: unknown): string | undefined {
  return str(str(v)?.replace(/^'+|'+$/g, ''));
}

function normalizeWhatsminer(reply: CgminerReply, ctx: NormalizeContext): DeviceSnapshot {
  const snapshot = upSnapshot(ctx.target, ctx.observedAt, whatsminerDialect.name);
  const details = firstRowOf(reply.devdetails, 'DEVDETAILS');
  const reportedModel = str(details?.['Model']) ?? str(msgOf(reply.get_miner_info)?.['model']);
  const spec = findModel(reportedModel);
  snapshot.vendor = 'MicroBT';
  setIfDefined(snapshot, 'model', spec?.model ?? (reportedModel ? `Whatsminer ${reportedModel.split(/[._]/, 1)[0]}` : undefined));

  const summary = firstRowOf(reply.summary, 'SUMMARY');
  const version = msgOf(reply.get_version);
  setIfDefined(snapshot, 'firmware', unquote(summary?.['Firmware Version']) ?? str(version?.['fw_ver']) ?? unquote(msgOf(reply.status)?.['Firmware Version']));
  setIfDefined(snapshot, 'mac', macOf(summary?.['MAC']) ?? macOf(msgOf(reply.get_miner_info)?.['mac']));

  applySummaryCounters(snapshot, summary);
  const rows = boardRows(reply);
  const boardRates = rows.map((r) => rowHashrate(r));
  const hashrate = (summary && rowHashrate(summary)) ?? (boardRates.some((r) => r !== undefined) ? boardRates.reduce<number>((a, r) => a + (r ?? 0), 0) : undefined);
  setIfDefined(snapshot, 'hashrate_hs', hashrate);
  const factoryGhs = num(summary?.['Factory GHS']);
  if (factoryGhs !== undefined && factoryGhs > 0) snapshot.nominal_hashrate_hs = toHs(factoryGhs, 1e9);

  if (summary) {
    setReportedPower(snapshot, watts(summary['Power']) ?? watts(summary['Power_RT']));
    setIfDefined(snapshot, 'power_limit_w', watts(summary['Power Limit']));
    setIfDefined(snapshot.temperatures_c, 'inlet', temperature(summary['Env Temp']));
    setIfDefined(snapshot.temperatures_c, 'chip_max', sensorTemperature(summary['Chip Temp Max']));
    setIfDefined(snapshot.temperatures_c, 'chip_avg', sensorTemperature(summary['Chip Temp Avg']));
    setIfDefined(snapshot.temperatures_c, 'pcb_max', sensorTemperature(summary['Temperature']));
    snapshot.fans_rpm = fansOf(summary);
  }
  if (snapshot.fans_rpm.length === 0 && rows[0]) snapshot.fans_rpm = fansOf(rows[0]);

  const problems: string[] = [];
  if (rows.length) {
    const minerHashes = (hashrate ?? 0) > 0;
    const boards = rows.map((row, position) => toBoard(row, position, spec, minerHashes));
    snapshot.boards = boards;
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
    if (snapshot.temperatures_c['chip_max'] === undefined) setIfDefined(snapshot.temperatures_c, 'chip_max', maxOf(boards.map((b) => b.chip_temperature_c)));
    problems.push(...boardProblems(boards, spec));
  }
  const codes = errorCodes(summary);
  if (codes.length) problems.push(`firmware error codes ${codes.join(', ')}`);
  if (problems.length) snapshot.error = problems.join('; ');
  setIfDefined(snapshot, 'pools', poolsOf(reply.pools));
  return snapshot;
}

function fansOf(row: Row): number[] {
  return [count(row['Fan Speed In']), count(row['Fan Speed Out'])].filter((v): v is number => v !== undefined);
}

/** `Error Code 0`, `Error Code 1`, … as btminer lists the codes it currently raises. */
function errorCodes(summary: Row | undefined): number[] {
  if ((count(summary?.['Error Code Count']) ?? 0) === 0) return [];
  const codes: number[] = [];
  for (const [key, value] of Object.entries(summary!)) {
    if (/^Error Code \d+$/.test(key)) {
      const code = count(value);
      if (code !== undefined) codes.push(code);
    }
  }
  return codes;
}

function toBoard(row: Row, position: number, spec: ModelSpec | undefined, minerHashes: boolean): BoardSnapshot {
  const index = count(row['ASC']) ?? count(row['ID']) ?? position;
  const board: BoardSnapshot = { index, status: 'ok' };
  const rate = rowHashrate(row);
  setIfDefined(board, 'hashrate_hs', rate);
  const factory = num(row['Factory GHS']);
  if (factory !== undefined && factory > 0) board.nominal_hashrate_hs = toHs(factory, 1e9);
  setIfDefined(board, 'chip_temperature_c', sensorTemperature(row['Chip Temp Max']));
  setIfDefined(board, 'board_temperature_c', sensorTemperature(row['Temperature']));
  setIfDefined(board, 'chips', count(row['Effective Chips']));
  setIfDefined(board, 'chips_expected', spec?.chips_per_board);
  setIfDefined(board, 'hardware_errors', count(row['Hardware Errors']));
  const status = str(row['Status']);
  const noChips = board.chips === 0;
  const noHash = minerHashes && (rate ?? 0) === 0;
  if (noChips || noHash || status === 'Dead' || row['Enabled'] === 'N') board.status = 'dead';
  else if (
    (board.chips_expected !== undefined && board.chips !== undefined && board.chips < board.chips_expected) ||
    (board.nominal_hashrate_hs !== undefined && rate !== undefined && rate < board.nominal_hashrate_hs * DEGRADED_HASHRATE_RATIO) ||
    status === 'Sick'
  )
    board.status = 'degraded';
  return board;
}
