/**
 * Braiins OS / BOS+ (bosminer, written in Rust, speaking the CGMiner API; BOSer on the newest releases).
 * It names itself in VERSION (`BOSminer`, `BOSminer+`, `bosminer`, `BOSer`) and in every STATUS
 * Description ("BOSminer+ 0.2.0-36c56a9363"). Keys come alphabetically sorted and replies end in a
 * newline instead of a NUL (the client handles both). Per chain: `devs` (rates, `Nominal MHS`),
 * `temps` (`Board` / `Chip`; 0.0 is no sensor), `fans` (`RPM`, `Speed` %), `devdetails` (`Model`,
 * `Chips`); `tunerstatus` gives `PowerLimit` and `ApproximateMinerPowerConsumption` watts.
 */
import { findModel } from '../../../../agent/catalog.js';
import type { BoardSnapshot, DeviceSnapshot } from '../../../../agent/snapshot.js';
import { firstRowOf, rowsOf, type CgminerReply } from '../../reply.js';
import {
  applySummaryCounters,
  boardProblems,
  count,
  descriptionMatching,
  maxOf,
  num,
  poolsOf,
  rowHashrate,
  sensorTemperature,
  setBoardTemperatures,
  setIfDefined,
  setReportedPower,
  str,
  toHs,
  upSnapshot,
  watts,
  type Row,
} from '../fields.js';
import type { CgminerDialect, NormalizeContext } from '../types.js';

const PROGRAM_KEYS = ['BOSminer+', 'BOSminer', 'bosminer', 'BOSer'] as const;
const DEGRADED_HASHRATE_RATIO = 0.8;
const BRAIINS_DESCRIPTION = /^(BOSminer|BOSer|bosminer)/;

export const braiinsDialect: CgminerDialect<'braiins'> = {
  name: 'braiins',
  extraCommands: ['version', 'devs', 'devdetails', 'temps', 'fans', 'tunerstatus'],
  // tunerstatus exists only with the autotuner (BOS+); devdetails not on every release.
  optionalCommands: ['stats', 'devdetails', 'tunerstatus'],
  identify(reply) {
    const version = firstRowOf(reply.version, 'VERSION');
    if (version && PROGRAM_KEYS.some((k) => k in version)) return true;
    return descriptionMatching(reply, BRAIINS_DESCRIPTION) !== undefined;
  },
  normalize(reply, ctx) {
    return normalizeBraiins(reply, ctx);
  },
};

function normalizeBraiins(reply: CgminerReply, ctx: NormalizeContext): DeviceSnapshot {
  const snapshot = upSnapshot(ctx.target, ctx.observedAt, braiinsDialect.name);
  const version = firstRowOf(reply.version, 'VERSION');
  const details = rowsOf(reply.devdetails, 'DEVDETAILS');
  const reportedModel = str(details[0]?.['Model']);
  const spec = findModel(reportedModel);
  setIfDefined(snapshot, 'model', spec?.model ?? reportedModel);
  setIfDefined(snapshot, 'vendor', spec?.vendor);
  const programKey = version ? PROGRAM_KEYS.find((k) => str(version[k]) !== undefined) : undefined;
  setIfDefined(snapshot, 'firmware', programKey ? `${programKey} ${str(version![programKey])}` : descriptionMatching(reply, BRAIINS_DESCRIPTION));

  const summary = firstRowOf(reply.summary, 'SUMMARY');
  applySummaryCounters(snapshot, summary);
  const devs = rowsOf(reply.devs, 'DEVS');
  const devRates = devs.map((r) => rowHashrate(r));
  const hashrate = (summary && rowHashrate(summary)) ?? (devRates.some((r) => r !== undefined) ? devRates.reduce<number>((a, r) => a + (r ?? 0), 0) : undefined);
  setIfDefined(snapshot, 'hashrate_hs', hashrate);

  const nominals = devs.map((r) => num(r['Nominal MHS']));
  if (nominals.some((n) => n !== undefined && n > 0))
    snapshot.nominal_hashrate_hs = toHs(
      nominals.reduce<number>((a, n) => a + (n ?? 0), 0),
      1e6,
    );

  const tuner = firstRowOf(reply.tunerstatus, 'TUNERSTATUS');
  setReportedPower(snapshot, watts(tuner?.['ApproximateMinerPowerConsumption']));
  setIfDefined(snapshot, 'power_limit_w', watts(tuner?.['PowerLimit']));

  snapshot.fans_rpm = rowsOf(reply.fans, 'FANS')
    .map((f) => count(f['RPM']))
    .filter((v): v is number => v !== undefined);

  const temps = new Map(rowsOf(reply.temps, 'TEMPS').map((t) => [count(t['ID']), t] as const));
  const chipsById = new Map(details.map((d) => [count(d['ID']), count(d['Chips'])] as const));
  const minerHashes = (hashrate ?? 0) > 0;
  const boards = devs.map((row, position) => toBoard(row, position, temps.get(count(row['ID'])), chipsById.get(count(row['ID'])), spec?.chips_per_board, minerHashes));
  // Without devs, the temps rows still tell which chains exist.
  if (boards.length === 0) {
    [...temps.values()].forEach((t, position) => {
      boards.push(withTemps({ index: count(t['TEMP']) ?? position, status: 'ok' }, t));
    });
  }
  const problems: string[] = [];
  if (boards.length) {
    snapshot.boards = boards;
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
    setIfDefined(snapshot.temperatures_c, 'chip_max', maxOf(boards.map((b) => b.chip_temperature_c)));
    setIfDefined(snapshot.temperatures_c, 'pcb_max', maxOf(boards.map((b) => b.board_temperature_c)));
    problems.push(...boardProblems(boards, spec));
  }
  if (problems.length) snapshot.error = problems.join('; ');
  setIfDefined(snapshot, 'pools', poolsOf(reply.pools));
  return snapshot;
}

function withTemps(board: BoardSnapshot, temps: Row | undefined): BoardSnapshot {
  if (!temps) return board;
  setIfDefined(board, 'chip_temperature_c', sensorTemperature(temps['Chip']));
  setIfDefined(board, 'board_temperature_c', sensorTemperature(temps['Board']));
  return board;
}

function toBoard(row: Row, position: number, temps: Row | undefined, chips: number | undefined, chipsExpected: number | undefined, minerHashes: boolean): BoardSnapshot {
  // ASC is the position bosminer lists the chain at; ID is the chain's connector (6-8 on an S9).
  const board: BoardSnapshot = { index: count(row['ASC']) ?? position, status: 'ok' };
  const rate = rowHashrate(row);
  setIfDefined(board, 'hashrate_hs', rate);
  const nominal = num(row['Nominal MHS']);
  if (nominal !== undefined && nominal > 0) board.nominal_hashrate_hs = toHs(nominal, 1e6);
  withTemps(board, temps);
  if (board.board_temperature_c === undefined) setIfDefined(board, 'board_temperature_c', sensorTemperature(row['Temperature']));
  setIfDefined(board, 'chips', chips);
  if (chips !== undefined) setIfDefined(board, 'chips_expected', chipsExpected);
  setIfDefined(board, 'hardware_errors', count(row['Hardware Errors']));
  const status = str(row['Status']);
  if (chips === 0 || (minerHashes && (rate ?? 0) === 0) || status === 'Dead' || row['Enabled'] === 'N') board.status = 'dead';
  else if (
    (chipsExpected !== undefined && chips !== undefined && chips < chipsExpected) ||
    (board.nominal_hashrate_hs !== undefined && rate !== undefined && rate < board.nominal_hashrate_hs * DEGRADED_HASHRATE_RATIO)
  )
    board.status = 'degraded';
  return board;
}
