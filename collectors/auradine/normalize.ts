/**
 * Auradine Teraflux (FluxOS / GCMiner) replies into a device snapshot. Every reply is CGMiner-shaped
 * (a `STATUS` array beside the section): `summary`, `devs` and `pools` as cgminer defines them, and
 * Auradine's own sections: `IPReport` (model, serial, MAC, firmware), `PSU` (watts as "58.94W"
 * strings), `Fan`, `Temperature` (per hash board: `ChipTemp` and `BoardTemp` lists) and `Mode`.
 */
import { findModel } from '../../agent/catalog.js';
import type { BoardSnapshot, DeviceIdentity, DeviceSnapshot } from '../../agent/snapshot.js';
import {
  applySummaryCounters,
  count,
  maxOf,
  poolsOf,
  rowHashrate,
  sensorTemperature,
  setBoardTemperatures,
  setIfDefined,
  setReportedPower,
  str,
  watts,
  type Row,
} from '../cgminer/dialects/fields.js';
import { firstRowOf, rowsOf } from '../cgminer/reply.js';
import { rowsAt } from '../json-rows.js';

export const AURADINE_DIALECT = 'auradine';
const MAC = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;

/** Each reply by its command; any may be missing (no web account, an older FluxOS). */
export interface AuradineReplies {
  summary?: Row;
  devs?: Row;
  pools?: Row;
  ipreport?: Row;
  psu?: Row;
  fan?: Row;
  temperature?: Row;
  mode?: Row;
}

export function normalizeAuradine(replies: AuradineReplies, identity: DeviceIdentity, observedAt: Date): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { ...identity, dialect: AURADINE_DIALECT, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
  snapshot.vendor = 'Auradine';
  const report = rowsAt(replies.ipreport, 'IPReport')[0];
  const reportedModel = str(report?.['model']);
  const spec = findModel(reportedModel);
  setIfDefined(snapshot, 'model', spec?.model ?? (reportedModel ? `Teraflux ${reportedModel}` : undefined));
  setIfDefined(snapshot, 'serial', str(report?.['SerialNo']));
  const mac = str(report?.['mac'])?.toUpperCase();
  if (mac !== undefined && MAC.test(mac)) snapshot.mac = mac;
  const version = str(report?.['version']);
  if (version !== undefined) snapshot.firmware = `FluxOS ${version}`;

  const summary = firstRowOf(replies.summary, 'SUMMARY');
  applySummaryCounters(snapshot, summary);
  const devs = rowsOf(replies.devs, 'DEVS');
  const boardRates = devs.map((row) => rowHashrate(row));
  const hashrate = (summary && rowHashrate(summary)) ?? (boardRates.some((r) => r !== undefined) ? boardRates.reduce<number>((a, r) => a + (r ?? 0), 0) : undefined);
  setIfDefined(snapshot, 'hashrate_hs', hashrate);

  const psu = rowsAt(replies.psu, 'PSU')[0];
  setReportedPower(snapshot, watts(psu?.['PowerIn']));
  const mode = rowsAt(replies.mode, 'Mode')[0];
  setIfDefined(snapshot, 'power_limit_w', watts(mode?.['Power']));
  snapshot.fans_rpm = rowsAt(replies.fan, 'Fan')
    .map((f) => count(f['Speed']))
    .filter((v): v is number => v !== undefined);

  // Hash boards are numbered from 1 in every section; a snapshot's boards from 0.
  const heat = new Map<number, { chip?: number; pcb?: number }>();
  for (const entry of rowsAt(replies.temperature, 'Temperature')) {
    const id = count(entry['ID']);
    if (id === undefined || id === 0 || !/hash board/i.test(str(entry['Name']) ?? '')) continue;
    const chip = maxOf(rowsAt(entry, 'ChipTemp').map((t) => sensorTemperature(t['Temperature'])));
    const pcb = maxOf(rowsAt(entry, 'BoardTemp').map((t) => sensorTemperature(t['Temperature'])));
    heat.set(id - 1, { ...(chip !== undefined && { chip: round2(chip) }), ...(pcb !== undefined && { pcb }) });
  }
  const problems: string[] = [];
  if (devs.length) {
    const minerHashes = (hashrate ?? 0) > 0;
    const boards = devs.map((row, position): BoardSnapshot => {
      const index = (count(row['ID']) ?? position + 1) - 1;
      const board: BoardSnapshot = { index, status: 'ok' };
      setIfDefined(board, 'hashrate_hs', boardRates[position]);
      setIfDefined(board, 'chip_temperature_c', heat.get(index)?.chip);
      setIfDefined(board, 'board_temperature_c', heat.get(index)?.pcb ?? sensorTemperature(row['Temperature']));
      const status = str(row['Status']);
      if (row['Enabled'] === false || (status !== undefined && status !== 'Alive') || (minerHashes && (boardRates[position] ?? 0) === 0)) {
        board.status = 'dead';
        problems.push(`board ${index + 1} of ${devs.length} ${status && status !== 'Alive' ? status.toLowerCase().slice(0, 20) : 'not hashing'}`);
      }
      return board;
    });
    snapshot.boards = boards;
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
    setIfDefined(snapshot.temperatures_c, 'chip_max', maxOf(boards.map((b) => b.chip_temperature_c)));
    setIfDefined(snapshot.temperatures_c, 'pcb_max', maxOf(boards.map((b) => b.board_temperature_c)));
  }
  if (problems.length) snapshot.error = problems.join('; ');
  setIfDefined(snapshot, 'pools', poolsOf(replies.pools));
  return snapshot;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
