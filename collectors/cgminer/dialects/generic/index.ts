/**
 * Any cgminer / bfgminer descendant, read from the fields upstream cgminer defines: SUMMARY rates and
 * counters, DEVS per device, POOLS, VERSION. The fallback when no firmware-specific dialect claims a
 * reply, so it never assumes a vendor's private keys.
 */
import { findModel } from '../../../../agent/catalog.js';
import type { BoardSnapshot, BoardStatus, DeviceSnapshot } from '../../../../agent/snapshot.js';
import { firstRowOf, rowsOf, type CgminerReply } from '../../reply.js';
import { applySummaryCounters, count, descriptionMatching, maxOf, poolsOf, rowHashrate, setIfDefined, str, temperature, upSnapshot, type Row } from '../fields.js';
import type { CgminerDialect, NormalizeContext } from '../types.js';

/** VERSION keys that name the mining program, most specific first. */
const PROGRAM_KEYS = ['LUXminer', 'BOSminer+', 'BOSminer', 'BOSer', 'BMMiner', 'CGMiner', 'BFGMiner', 'Miner'];
/**
 * Goldshell's cgminer (`intminer`, from Intchains, its maker; the names asic-rs recognises it by): its
 * machines hash Kadena, Scrypt, Blake2b and the like, never SHA-256, so the snapshot says so.
 */
const GOLDSHELL_PROGRAM = /intminer|goldshell|kdaminer|intchains_qomo/i;
const DEVICE_STATUS: Record<string, BoardStatus> = { Alive: 'ok', Sick: 'degraded', Dead: 'dead', NoStart: 'dead', Initialising: 'ok', Disabled: 'dead' };

export const genericDialect: CgminerDialect<'cgminer'> = {
  name: 'cgminer',
  identify: () => true,
  normalize(reply, ctx) {
    return normalizeGeneric(reply, ctx);
  },
};

function normalizeGeneric(reply: CgminerReply, ctx: NormalizeContext): DeviceSnapshot {
  const snapshot = upSnapshot(ctx.target, ctx.observedAt, genericDialect.name);
  const version = firstRowOf(reply.version, 'VERSION');
  const statsHeader = rowsOf(reply.stats, 'STATS').find((r) => 'Type' in r);
  const type = str(version?.['Type']) ?? str(statsHeader?.['Type']) ?? str(version?.['MODEL']);
  const spec = findModel(type);
  setIfDefined(snapshot, 'model', spec?.model ?? type?.split(/\r?\n/, 1)[0]);
  setIfDefined(snapshot, 'vendor', spec?.vendor);
  setIfDefined(snapshot, 'firmware', programOf(version) ?? programOf(statsHeader) ?? firstDescription(reply));
  if (GOLDSHELL_PROGRAM.test(firstDescription(reply) ?? '')) {
    snapshot.vendor ??= 'Goldshell';
    snapshot.algorithm = spec?.algorithm ?? 'unknown';
  }

  const summary = firstRowOf(reply.summary, 'SUMMARY');
  applySummaryCounters(snapshot, summary);
  const devs = rowsOf(reply.devs, 'DEVS');
  const boards = devs.map(deviceBoard);
  const statsRows = rowsOf(reply.stats, 'STATS');
  const hashrate =
    (summary && rowHashrate(summary)) ??
    firstDefined(statsRows.map((r) => rowHashrate(r))) ??
    (boards.some((b) => b.hashrate_hs !== undefined) ? boards.reduce((s, b) => s + (b.hashrate_hs ?? 0), 0) : undefined) ??
    anyRowHashrate(reply);
  setIfDefined(snapshot, 'hashrate_hs', hashrate);
  if (snapshot.uptime_s === undefined) setIfDefined(snapshot, 'uptime_s', firstDefined(statsRows.map((r) => count(r['Elapsed']))));

  if (boards.length) {
    snapshot.boards = boards;
    for (const b of boards) setIfDefined(snapshot.temperatures_c, `board${b.index}`, b.board_temperature_c);
    const dead = boards.filter((b) => b.status === 'dead');
    if (dead.length) snapshot.error = `${dead.length} of ${boards.length} devices dead (${dead.map((b) => `#${b.index}`).join(', ')})`;
  }
  setIfDefined(snapshot.temperatures_c, 'max', maxOf(Object.values(snapshot.temperatures_c)));
  setIfDefined(snapshot, 'pools', poolsOf(reply.pools));
  return snapshot;
}

function deviceBoard(row: Row, position: number): BoardSnapshot {
  const index = count(row['ASC']) ?? count(row['PGA']) ?? count(row['GPU']) ?? count(row['ID']) ?? position;
  const board: BoardSnapshot = { index, status: DEVICE_STATUS[str(row['Status']) ?? ''] ?? 'ok' };
  if (row['Enabled'] === 'N') board.status = 'dead';
  setIfDefined(board, 'hashrate_hs', rowHashrate(row));
  // cgminer prints 0.00 for a device without a sensor.
  const celsius = temperature(row['Temperature']);
  if (celsius !== 0) setIfDefined(board, 'board_temperature_c', celsius);
  setIfDefined(board, 'hardware_errors', count(row['Hardware Errors']));
  return board;
}

function programOf(row: Row | undefined): string | undefined {
  if (!row) return undefined;
  for (const key of PROGRAM_KEYS) {
    const v = str(row[key]);
    if (v !== undefined) return key === 'Miner' ? v : `${key} ${v}`;
  }
  return undefined;
}

const NOT_EMPTY = /./;

function firstDescription(reply: CgminerReply): string | undefined {
  return descriptionMatching(reply, NOT_EMPTY);
}

/** Last resort for single replies such as `lcd` or `estats`: the first row of any section with a rate. */
function anyRowHashrate(reply: CgminerReply): number | undefined {
  for (const response of Object.values(reply)) {
    for (const section of Object.values(response ?? {})) {
      if (!Array.isArray(section)) continue;
      for (const row of section) {
        const rate = typeof row === 'object' && row !== null ? rowHashrate(row as Row) : undefined;
        if (rate !== undefined) return rate;
      }
    }
  }
  return undefined;
}

function firstDefined<T>(values: (T | undefined)[]): T | undefined {
  return values.find((v) => v !== undefined);
}
