/**
 * Braiins OS 25.07+ public API (the REST gateway over its `braiins.bos.v1` gRPC services) into a
 * device snapshot. Units travel with the values (`{"gigahash_per_second": …}`, `{"watt": …}`,
 * `{"degree_c": …}`), so nothing is guessed: `miner/details` names the machine, `miner/stats` the
 * rates, shares and BOS's approximated watts, `miner/hw/hashboards` each board, `cooling/state` the
 * fans, `pools` the pool groups, `performance-tuner/state` the power target.
 */
import { findModel } from '../../agent/catalog.js';
import type { BoardSnapshot, DeviceIdentity, DeviceSnapshot, PoolSnapshot } from '../../agent/snapshot.js';
import { count, maxOf, num, sensorTemperature, setBoardTemperatures, setIfDefined, setReportedPower, str, toHs, watts, type Row } from '../cgminer/dialects/fields.js';
import { objectAt, rowsAt } from '../json-rows.js';

export const BRAIINS_REST_DIALECT = 'braiins-rest';
const MAC = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;
/** A board under this share of its nominal rate is degraded. */
const DEGRADED_HASHRATE_RATIO = 0.8;

export interface BraiinsRestReplies {
  details?: Row;
  stats?: Row;
  hashboards?: Row;
  cooling?: Row;
  /** `pools` answers a list of pool groups. */
  pools?: unknown;
  tuner?: Row;
}

/** `{"gigahash_per_second": 248186.68}` → H/s. */
function ghs(v: unknown): number | undefined {
  const n = typeof v === 'object' && v !== null ? num((v as Row)['gigahash_per_second']) : undefined;
  return n !== undefined && n >= 0 ? toHs(n, 1e9) : undefined;
}

export function normalizeBraiinsRest(replies: BraiinsRestReplies, identity: DeviceIdentity, observedAt: Date): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { ...identity, dialect: BRAIINS_REST_DIALECT, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
  const details = replies.details;
  const reportedModel = str(objectAt(details, 'miner_identity')?.['miner_model']) ?? str(objectAt(details, 'miner_identity')?.['name']);
  const spec = findModel(reportedModel);
  setIfDefined(snapshot, 'vendor', spec?.vendor ?? (reportedModel && /antminer/i.test(reportedModel) ? 'Bitmain' : undefined));
  setIfDefined(snapshot, 'model', spec?.model ?? reportedModel);
  const version = str(objectAt(details, 'bos_version')?.['current']);
  if (version !== undefined) snapshot.firmware = `Braiins OS ${version}`;
  setIfDefined(snapshot, 'serial', str(details?.['serial_number']));
  const mac = str(details?.['mac_address'])?.toUpperCase();
  if (mac !== undefined && MAC.test(mac)) snapshot.mac = mac;
  setIfDefined(snapshot, 'uptime_s', count(details?.['bosminer_uptime_s']));

  const minerStats = objectAt(replies.stats, 'miner_stats');
  const rates = objectAt(minerStats, 'real_hashrate');
  setIfDefined(snapshot, 'hashrate_hs', ghs(rates?.['last_5s']) ?? ghs(rates?.['last_15s']) ?? ghs(rates?.['last_1m']));
  const nominal = ghs(minerStats?.['nominal_hashrate']) ?? ghs(details?.['sticker_hashrate']);
  if (nominal !== undefined && nominal > 0) snapshot.nominal_hashrate_hs = nominal;
  const shares = objectAt(replies.stats, 'pool_stats');
  setIfDefined(snapshot, 'accepted_shares', count(shares?.['accepted_shares']));
  setIfDefined(snapshot, 'rejected_shares', count(shares?.['rejected_shares']));
  setIfDefined(snapshot, 'stale_shares', count(shares?.['stale_shares']));
  setReportedPower(snapshot, watts(objectAt(objectAt(replies.stats, 'power_stats'), 'approximated_consumption')?.['watt']));
  const target = objectAt(objectAt(objectAt(replies.tuner, 'mode_state'), 'powertargetmodestate'), 'current_target');
  setIfDefined(snapshot, 'power_limit_w', watts(target?.['watt']));

  snapshot.fans_rpm = rowsAt(replies.cooling, 'fans')
    .map((f) => count(f['rpm']))
    .filter((v): v is number => v !== undefined);

  const problems: string[] = [];
  const rows = rowsAt(replies.hashboards, 'hashboards');
  if (rows.length) {
    const minerHashes = (snapshot.hashrate_hs ?? 0) > 0;
    const boards = rows.map((row, position): BoardSnapshot => {
      const index = (count(row['id']) ?? position + 1) - 1;
      const board: BoardSnapshot = { index, status: 'ok' };
      const boardRates = objectAt(objectAt(row, 'stats'), 'real_hashrate');
      const rate = ghs(boardRates?.['last_5s']) ?? ghs(boardRates?.['last_15s']);
      setIfDefined(board, 'hashrate_hs', rate);
      const boardNominal = ghs(objectAt(row, 'stats')?.['nominal_hashrate']);
      if (boardNominal !== undefined && boardNominal > 0) board.nominal_hashrate_hs = boardNominal;
      setIfDefined(board, 'chip_temperature_c', sensorTemperature(objectAt(objectAt(row, 'highest_chip_temp'), 'temperature')?.['degree_c']));
      setIfDefined(board, 'board_temperature_c', sensorTemperature(objectAt(row, 'board_temp')?.['degree_c']));
      setIfDefined(board, 'chips', count(row['chips_count']));
      setIfDefined(board, 'chips_expected', spec?.chips_per_board);
      if (row['enabled'] === false || board.chips === 0 || (minerHashes && (rate ?? 0) === 0)) {
        board.status = 'dead';
        problems.push(`board ${index + 1} of ${rows.length} ${row['enabled'] === false ? 'disabled' : 'not hashing'}`);
      } else if (board.nominal_hashrate_hs !== undefined && rate !== undefined && rate < board.nominal_hashrate_hs * DEGRADED_HASHRATE_RATIO) board.status = 'degraded';
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

/** Every pool of every group; `active` is the one BOS mines on. */
function poolsOf(groups: unknown): PoolSnapshot[] | undefined {
  if (!Array.isArray(groups)) return undefined;
  const pools: PoolSnapshot[] = [];
  for (const group of groups) {
    for (const row of rowsAt(group as Row, 'pools')) {
      const url = str(row['url']);
      if (url === undefined) continue;
      const pool: PoolSnapshot = { url };
      setIfDefined(pool, 'user', str(row['user']));
      if (typeof row['alive'] === 'boolean') pool.status = row['alive'] ? 'alive' : 'dead';
      if (typeof row['active'] === 'boolean') pool.active = row['active'];
      const stats = objectAt(row, 'stats');
      setIfDefined(pool, 'accepted_shares', count(stats?.['accepted_shares']));
      setIfDefined(pool, 'rejected_shares', count(stats?.['rejected_shares']));
      setIfDefined(pool, 'stale_shares', count(stats?.['stale_shares']));
      pools.push(pool);
    }
  }
  return pools.length ? pools : undefined;
}
