/**
 * Proto Rig (Block, ProtoOS) REST API v1 into a device snapshot. `system` names the machine and its
 * ProtoOS build, `network` its MAC, `hardware` the hash boards by slot (serial, ASIC count);
 * `telemetry?level=miner,hashboard,psu` carries every rate, watt and temperature with its unit beside
 * it (`{"value": 36.4, "unit": "TH/s"}`), so a value in a unit not named here is left out rather than
 * guessed; `mining` the state, ideal rate, power target and uptime; `cooling` the fans; `pools` the
 * pools with their shares; `errors` the rig's active alerts.
 */
import { findModel } from '../../agent/catalog.js';
import type { BoardSnapshot, DeviceIdentity, DeviceSnapshot, PoolSnapshot } from '../../agent/snapshot.js';
import { count, maxOf, num, sensorTemperature, setBoardTemperatures, setIfDefined, setReportedPower, str, toHs, watts, type Row } from '../cgminer/dialects/fields.js';
import { objectAt, rowsAt } from '../json-rows.js';

export const PROTO_DIALECT = 'proto';
const MAC = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;
/** Hash units the MDK API may name; its OpenAPI document lists TH/s, ProtoOS's dashboard also GH/s and MH/s. */
const HASH_FACTOR: Readonly<Record<string, number>> = { 'TH/s': 1e12, 'GH/s': 1e9, 'MH/s': 1e6 };
const CELSIUS = '°C';
/** Alerts quoted in `error`, and characters of each: the rest is counted, not quoted. */
const MAX_ALERTS = 3;
const MAX_ALERT_CHARS = 120;

/** Each reply by its endpoint; any may be missing (no account, a 204 from `mining` before it starts). */
export interface ProtoReplies {
  system?: Row;
  network?: Row;
  hardware?: Row;
  mining?: Row;
  telemetry?: Row;
  cooling?: Row;
  pools?: Row;
  /** `errors` answers a list. */
  errors?: unknown;
}

/** Vendor, model and firmware from `/api/v1/system` (which needs no login); undefined when it is no Proto rig's reply. */
export function protoSystemIdentity(system: Row | undefined): { vendor?: string; model?: string; firmware?: string } | undefined {
  const info = objectAt(system, 'system-info');
  const os = objectAt(info, 'os');
  const manufacturer = str(info?.['manufacturer']);
  if (!/^protoos$/i.test(str(os?.['name']) ?? '') && !/^proto$/i.test(manufacturer ?? '')) return undefined;
  const product = str(info?.['product_name']);
  const model = str(info?.['model']);
  const spec = findModel(product) ?? findModel(manufacturer && model ? `${manufacturer} ${model}` : undefined);
  const identity: { vendor?: string; model?: string; firmware?: string } = {};
  setIfDefined(identity, 'vendor', spec?.vendor ?? manufacturer);
  setIfDefined(identity, 'model', spec?.model ?? product ?? model);
  const version = str(os?.['version']);
  if (version !== undefined) identity.firmware = `${str(os?.['name']) ?? 'ProtoOS'} ${version}`;
  return identity;
}

export function normalizeProto(replies: ProtoReplies, identity: DeviceIdentity, observedAt: Date): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { ...identity, dialect: PROTO_DIALECT, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
  const named = protoSystemIdentity(replies.system);
  setIfDefined(snapshot, 'vendor', named?.vendor);
  setIfDefined(snapshot, 'model', named?.model);
  setIfDefined(snapshot, 'firmware', named?.firmware);
  const system = objectAt(replies.system, 'system-info');
  const hardware = objectAt(replies.hardware, 'hardware-info');
  setIfDefined(snapshot, 'serial', str(system?.['cb_sn']) ?? str(objectAt(hardware, 'cb-info')?.['serial_number']));
  const mac = str(objectAt(replies.network, 'network-info')?.['mac'])?.toUpperCase();
  if (mac !== undefined && MAC.test(mac)) snapshot.mac = mac;

  const mining = objectAt(replies.mining, 'mining-status');
  setIfDefined(snapshot, 'uptime_s', count(mining?.['reboot_uptime_s']) ?? count(system?.['uptime_seconds']));
  const miner = objectAt(replies.telemetry, 'miner');
  const ghs = num(mining?.['hashrate_ghs']);
  setIfDefined(snapshot, 'hashrate_hs', hashrateOf(miner?.['hashrate']) ?? (ghs !== undefined && ghs >= 0 ? toHs(ghs, 1e9) : undefined));
  const ideal = num(mining?.['ideal_hashrate_ghs']);
  if (ideal !== undefined && ideal > 0) snapshot.nominal_hashrate_hs = toHs(ideal, 1e9);
  setIfDefined(snapshot, 'power_limit_w', watts(mining?.['power_target_watts']));
  setIfDefined(snapshot, 'hardware_errors', count(mining?.['hw_errors']));

  // What the PSUs draw from the wall, where every PSU says; else the rig's own total, else the mining figure.
  const psus = rowsAt(replies.telemetry, 'psus');
  const inputs = psus.map((p) => wattsIn(objectAt(p, 'power'), 'input'));
  const psuInput = inputs.length && inputs.every((w) => w !== undefined) ? inputs.reduce<number>((a, w) => a + w!, 0) : undefined;
  setReportedPower(snapshot, psuInput ?? wattsIn(objectAt(miner, 'power'), 'value') ?? watts(mining?.['power_usage_watts']));
  setIfDefined(snapshot.temperatures_c, 'chip_avg', sensorTemperature(mining?.['average_asic_temp_c']));
  setIfDefined(snapshot.temperatures_c, 'psu_max', maxOf(psus.map((p) => celsius(objectAt(p, 'temperature'), 'hotspot'))));

  const cooling = objectAt(replies.cooling, 'cooling-status');
  snapshot.fans_rpm = rowsAt(cooling, 'fans')
    .sort((a, b) => (count(a['slot']) ?? 0) - (count(b['slot']) ?? 0))
    .map((f) => count(f['rpm']))
    .filter((v): v is number => v !== undefined);

  const problems: string[] = [];
  const status = str(mining?.['status']);
  if (status !== undefined && status !== 'Mining') problems.push(`mining status ${status.slice(0, 40)}`);
  if (replies.telemetry !== undefined) {
    const boards = boardsOf(rowsAt(hardware, 'hashboards-info'), rowsAt(replies.telemetry, 'hashboards'), (snapshot.hashrate_hs ?? 0) > 0, problems);
    if (boards.length) {
      snapshot.boards = boards;
      for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
      setIfDefined(snapshot.temperatures_c, 'pcb_max', maxOf(boards.map((b) => b.board_temperature_c)));
    }
    const installed = count(mining?.['hashboards_installed']);
    const hashing = count(mining?.['hashboards_mining']);
    if (installed !== undefined && hashing !== undefined && hashing < installed && !boards.some((b) => b.status === 'dead'))
      problems.push(`${hashing} of ${installed} hashboards mining`);
  }
  problems.push(...alertsOf(replies.errors));
  if (problems.length) snapshot.error = problems.join('; ');

  const pools = poolsOf(replies.pools);
  if (pools) {
    snapshot.pools = pools;
    const sum = (key: 'accepted_shares' | 'rejected_shares') => (pools.some((p) => p[key] !== undefined) ? pools.reduce((a, p) => a + (p[key] ?? 0), 0) : undefined);
    setIfDefined(snapshot, 'accepted_shares', sum('accepted_shares'));
    setIfDefined(snapshot, 'rejected_shares', sum('rejected_shares'));
  }
  return snapshot;
}

/**
 * The boards `hardware` lists by slot (1 on), read from `telemetry` by serial number, else by its
 * `index` (0 on). A board the hardware lists that telemetry does not report is dead; so is one that
 * does not hash while the rig does.
 */
function boardsOf(installed: Row[], reported: Row[], minerHashes: boolean, problems: string[]): BoardSnapshot[] {
  const bySlot = new Map<number, { hw?: Row; tel?: Row }>();
  for (const [position, hw] of installed.entries()) {
    const slot = whole(hw['slot']);
    bySlot.set(slot !== undefined && slot >= 1 ? slot - 1 : position, { hw });
  }
  for (const tel of reported) {
    const serial = str(tel['serial_number']);
    const owner = serial === undefined ? undefined : [...bySlot.values()].find((b) => b.tel === undefined && str(b.hw?.['hb_sn']) === serial);
    const index = whole(tel['index']);
    if (owner) owner.tel = tel;
    else if (index !== undefined && bySlot.get(index)?.tel === undefined) bySlot.set(index, { ...bySlot.get(index), tel });
  }
  return [...bySlot.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, { hw, tel }]): BoardSnapshot => {
      const board: BoardSnapshot = { index, status: 'ok' };
      setIfDefined(board, 'chips_expected', count(hw?.['mining_asic_count']));
      if (!tel) {
        board.status = 'dead';
        problems.push(`board in slot ${index + 1} not reporting`);
        return board;
      }
      const rate = hashrateOf(tel['hashrate']);
      setIfDefined(board, 'hashrate_hs', rate);
      const heat = objectAt(tel, 'temperature');
      setIfDefined(board, 'board_temperature_c', maxOf([celsius(heat, 'inlet'), celsius(heat, 'outlet')]));
      if (minerHashes && (rate ?? 0) === 0) {
        board.status = 'dead';
        problems.push(`board in slot ${index + 1} not hashing`);
      }
      return board;
    });
}

/** A slot or index: a whole number, else nothing. */
function whole(v: unknown): number | undefined {
  const n = count(v);
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/** `{"value": 36.4, "unit": "TH/s"}` → H/s; nothing for a unit not known. */
function hashrateOf(v: unknown): number | undefined {
  const metric = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Row) : undefined;
  const factor = HASH_FACTOR[str(metric?.['unit']) ?? ''];
  const n = num(metric?.['value']);
  return factor !== undefined && n !== undefined && n >= 0 ? toHs(n, factor) : undefined;
}

function wattsIn(metric: Row | undefined, key: string): number | undefined {
  return str(metric?.['unit']) === 'W' ? watts(metric?.[key]) : undefined;
}

function celsius(metric: Row | undefined, key: string): number | undefined {
  return str(metric?.['unit']) === CELSIUS ? sensorTemperature(metric?.[key]) : undefined;
}

/** Pools in priority order; `status` is the rig's own word (Active, Idle, Dead), Active the one it mines on. */
function poolsOf(reply: Row | undefined): PoolSnapshot[] | undefined {
  const rows = rowsAt(reply, 'pools').sort((a, b) => (count(a['priority']) ?? 0) - (count(b['priority']) ?? 0));
  const pools: PoolSnapshot[] = [];
  for (const row of rows) {
    const url = str(row['url']);
    if (url === undefined) continue;
    const pool: PoolSnapshot = { url };
    setIfDefined(pool, 'user', str(row['user']));
    const status = str(row['status']);
    if (status !== undefined) {
      pool.status = status.slice(0, 20);
      pool.active = status === 'Active';
    }
    setIfDefined(pool, 'accepted_shares', count(row['accepted']));
    setIfDefined(pool, 'rejected_shares', count(row['rejected']));
    pools.push(pool);
  }
  return pools.length ? pools : undefined;
}

/** The rig's active alerts (`source`, `slot`, `error_code`, `message`), the first few quoted. */
function alertsOf(errors: unknown): string[] {
  if (!Array.isArray(errors)) return [];
  const alerts = errors.filter((e): e is Row => typeof e === 'object' && e !== null && !Array.isArray(e));
  const quoted = alerts.slice(0, MAX_ALERTS).map((alert) => {
    const slot = count(alert['slot']);
    const where = `${str(alert['source']) ?? 'rig'}${slot !== undefined ? ` ${slot}` : ''}`;
    return `${where}: ${str(alert['message']) ?? str(alert['error_code']) ?? 'alert'}`.slice(0, MAX_ALERT_CHARS);
  });
  if (alerts.length > MAX_ALERTS) quoted.push(`${alerts.length - MAX_ALERTS} more alerts`);
  return quoted;
}
