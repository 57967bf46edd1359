/**
 * ePIC PowerPlay / UMC firmware's HTTP API into a device snapshot. `/summary` carries the machine:
 * `Session` (hashrate in MH/s, shares, uptime), `HBs` (per board: `Hashrate[0]` MH/s, `Temperature`,
 * `Input Power`), `HBStatus` (boards detected and enabled), `Power Supply Stats` (the PSU's
 * `Input Power`), `Fans Rpm`, `Stratum`, `Software`. `/capabilities` names the model and its default
 * hashrate; `/network` the MAC. The pool passwords `/summary` also holds are never read.
 */
import { findModel } from '../../agent/catalog.js';
import type { BoardSnapshot, DeviceIdentity, DeviceSnapshot, PoolSnapshot } from '../../agent/snapshot.js';
import { count, maxOf, num, sensorTemperature, setBoardTemperatures, setIfDefined, setReportedPower, str, toHs, watts, type Row } from '../cgminer/dialects/fields.js';
import { objectAt, rowsAt } from '../json-rows.js';

export const EPIC_DIALECT = 'epic';
const MAC = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;

export interface EpicReplies {
  summary: Row;
  capabilities?: Row;
  network?: Row;
}

export function normalizeEpic(replies: EpicReplies, identity: DeviceIdentity, observedAt: Date): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { ...identity, dialect: EPIC_DIALECT, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
  const { summary, capabilities } = replies;
  const reportedModel = str(capabilities?.['Model']);
  const spec = findModel(reportedModel);
  setIfDefined(snapshot, 'vendor', spec?.vendor ?? vendorNamedIn(reportedModel));
  setIfDefined(snapshot, 'model', spec?.model ?? reportedModel);
  setIfDefined(snapshot, 'firmware', str(summary['Software']));
  const mac = str(objectAt(replies.network, 'dhcp')?.['mac_address'] ?? objectAt(replies.network, 'static')?.['mac_address'])?.toUpperCase();
  if (mac !== undefined && MAC.test(mac)) snapshot.mac = mac;

  const session = objectAt(summary, 'Session');
  const boardRows = rowsAt(summary, 'HBs');
  const boardRates = boardRows.map((hb) => mhsToHs(Array.isArray(hb['Hashrate']) ? hb['Hashrate'][0] : undefined));
  const hashrate = boardRates.some((r) => r !== undefined) ? boardRates.reduce<number>((a, r) => a + (r ?? 0), 0) : mhsToHs(session?.['Average MHs']);
  setIfDefined(snapshot, 'hashrate_hs', hashrate);
  const defaultTh = num(capabilities?.['Default Hashrate']);
  if (defaultTh !== undefined && defaultTh > 0) snapshot.nominal_hashrate_hs = toHs(defaultTh, 1e12);
  setIfDefined(snapshot, 'uptime_s', count(session?.['Uptime']));
  setIfDefined(snapshot, 'accepted_shares', count(session?.['Accepted']));
  setIfDefined(snapshot, 'rejected_shares', count(session?.['Rejected']));

  const boardInputs = boardRows.map((hb) => watts(hb['Input Power']));
  const boardsSum = boardInputs.every((w) => w !== undefined) && boardInputs.length ? boardInputs.reduce<number>((a, w) => a + w!, 0) : undefined;
  setReportedPower(snapshot, watts(objectAt(summary, 'Power Supply Stats')?.['Input Power']) ?? boardsSum);
  setIfDefined(snapshot, 'power_limit_w', watts(objectAt(summary, 'PresetInfo')?.['Target Power']));

  const fans = objectAt(summary, 'Fans Rpm');
  if (fans) {
    const numbered = Object.keys(fans)
      .map((key) => [Number(/(\d+)$/.exec(key)?.[1]), fans[key]] as const)
      .filter(([n]) => Number.isInteger(n))
      .sort((a, b) => a[0] - b[0]);
    snapshot.fans_rpm = numbered.map(([, v]) => count(v)).filter((v): v is number => v !== undefined);
  }

  const problems: string[] = [];
  const boards: BoardSnapshot[] = [];
  const readings = new Map(boardRows.map((hb, i) => [count(hb['Index']) ?? i, { hb, rate: boardRates[i] }]));
  const statuses = rowsAt(summary, 'HBStatus');
  const indices = statuses.length ? statuses.map((s, i) => count(s['Index']) ?? i) : [...readings.keys()];
  for (const index of indices) {
    const status = statuses.find((s) => count(s['Index']) === index);
    const reading = readings.get(index);
    const board: BoardSnapshot = { index, status: 'ok' };
    if (reading) {
      setIfDefined(board, 'hashrate_hs', reading.rate);
      setIfDefined(board, 'board_temperature_c', sensorTemperature(reading.hb['Temperature']));
    }
    if (status?.['Detected'] === false || status?.['Enabled'] === false || !reading || (hashrate !== undefined && hashrate > 0 && (reading.rate ?? 0) === 0)) {
      board.status = 'dead';
      problems.push(`board ${index} ${status?.['Detected'] === false ? 'not detected' : status?.['Enabled'] === false ? 'disabled by the firmware' : 'not hashing'}`);
    }
    boards.push(board);
  }
  if (boards.length) {
    snapshot.boards = boards;
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
    setIfDefined(snapshot.temperatures_c, 'pcb_max', maxOf(boards.map((b) => b.board_temperature_c)));
  }
  const lastError = str(objectAt(summary, 'Status')?.['Last Error']);
  if (lastError) problems.push(`firmware: ${lastError.slice(0, 120)}`);
  if (problems.length) snapshot.error = problems.join('; ');
  setIfDefined(snapshot, 'pools', poolsOf(summary));
  return snapshot;
}

/** `StratumConfigs` (url and login; never its `password`), the one `Stratum` is on marked active. */
function poolsOf(summary: Row): PoolSnapshot[] | undefined {
  const stratum = objectAt(summary, 'Stratum');
  const current = str(stratum?.['Current Pool']);
  const connected = stratum?.['IsPoolConnected'] === true;
  const pools: PoolSnapshot[] = [];
  for (const config of rowsAt(summary, 'StratumConfigs')) {
    const url = str(config['pool']);
    if (url === undefined) continue;
    const pool: PoolSnapshot = { url, active: current !== undefined && url.endsWith(`://${current}`) && connected };
    setIfDefined(pool, 'user', str(config['login']));
    pools.push(pool);
  }
  return pools.length ? pools : undefined;
}

/** ePIC firmware runs on Antminers and Whatsminers; its own rigs are BlockMiners. */
function vendorNamedIn(model: string | undefined): string | undefined {
  if (model === undefined) return undefined;
  if (/antminer/i.test(model)) return 'Bitmain';
  if (/whatsminer/i.test(model)) return 'MicroBT';
  return /blockminer/i.test(model) ? 'ePIC' : undefined;
}

function mhsToHs(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && n >= 0 ? toHs(n, 1e6) : undefined;
}
