/**
 * ESP-Miner (AxeOS) `/api/system/info` into a device snapshot: one ASIC board, `hashRate` in GH/s,
 * `power` in W as the board's own power monitor measures it, `temp` (chip) and `vrTemp` in °C, one
 * fan. The model is the firmware's `deviceModel` where it names one (NerdAxe forks do), else the
 * Bitaxe family its `ASICModel` belongs to.
 */
import { findModel } from '../../agent/catalog.js';
import type { DeviceIdentity, DeviceSnapshot, PoolSnapshot } from '../../agent/snapshot.js';
import { count, num, sensorTemperature, setIfDefined, str, temperature, toHs, watts, type Row } from '../cgminer/dialects/fields.js';

export const BITAXE_DIALECT = 'bitaxe';

/** The Bitaxe family each ASIC is sold in (ESP-Miner's own board table). */
const FAMILY_BY_ASIC: Readonly<Record<string, string>> = {
  BM1397: 'Bitaxe Max',
  BM1366: 'Bitaxe Ultra',
  BM1368: 'Bitaxe Supra',
  BM1370: 'Bitaxe Gamma',
};
const MAC = /^[0-9A-F]{2}(?::[0-9A-F]{2}){5}$/;

export function normalizeBitaxe(info: Row, identity: DeviceIdentity, observedAt: Date): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { ...identity, dialect: BITAXE_DIALECT, up: true, observed_at: observedAt.toISOString(), temperatures_c: {}, fans_rpm: [] };
  const asic = str(info['ASICModel']);
  const named = str(info['deviceModel']);
  const model = named ?? (asic ? FAMILY_BY_ASIC[asic] : undefined);
  const spec = findModel(model);
  snapshot.vendor = spec?.vendor ?? (named && /nerd/i.test(named) ? 'NerdAxe' : 'Bitaxe');
  setIfDefined(snapshot, 'model', spec?.model ?? model);
  setIfDefined(snapshot, 'firmware', str(info['version']));
  const mac = str(info['macAddr'])?.toUpperCase();
  if (mac !== undefined && MAC.test(mac)) snapshot.mac = mac;

  const ghs = num(info['hashRate']);
  if (ghs !== undefined && ghs >= 0) snapshot.hashrate_hs = toHs(ghs, 1e9);
  const expected = num(info['expectedHashrate']);
  if (expected !== undefined && expected > 0) snapshot.nominal_hashrate_hs = toHs(expected, 1e9);
  // Tens of watts at most: whole watts, as a miner's reading is kept, would be a tenth off.
  const power = watts(info['power']);
  if (power !== undefined) snapshot.power_by_source_w = { reported: Math.round(power * 100) / 100 };
  setIfDefined(snapshot, 'uptime_s', count(info['uptimeSeconds']));
  setIfDefined(snapshot, 'accepted_shares', count(info['sharesAccepted']));
  setIfDefined(snapshot, 'rejected_shares', count(info['sharesRejected']));
  setIfDefined(snapshot.temperatures_c, 'chip_max', sensorTemperature(info['temp']));
  setIfDefined(snapshot.temperatures_c, 'vr', sensorTemperature(info['vrTemp']));
  const fan = count(info['fanrpm']);
  if (fan !== undefined) snapshot.fans_rpm = [fan];
  const chip = temperature(info['temp']);
  snapshot.boards = [
    { index: 0, status: 'ok', ...(snapshot.hashrate_hs !== undefined && { hashrate_hs: snapshot.hashrate_hs }), ...(chip !== undefined && { chip_temperature_c: chip }) },
  ];
  const chips = count(info['asicCount']);
  if (chips !== undefined) snapshot.boards[0]!.chips = chips;
  if (info['overheat_mode'] === 1) snapshot.error = 'overheat mode: the firmware has throttled the ASIC';
  setIfDefined(snapshot, 'pools', poolsOf(info));
  return snapshot;
}

/** The primary and fallback stratum endpoints, `isUsingFallbackStratum` saying which is in use. */
function poolsOf(info: Row): PoolSnapshot[] | undefined {
  const fallbackActive = info['isUsingFallbackStratum'] === 1 || info['isUsingFallbackStratum'] === true;
  const pools: PoolSnapshot[] = [];
  for (const [prefix, active] of [
    ['stratum', !fallbackActive],
    ['fallbackStratum', fallbackActive],
  ] as const) {
    const host = str(info[`${prefix}URL`]);
    if (host === undefined) continue;
    const port = count(info[`${prefix}Port`]);
    const url = /:\/\//.test(host) ? host : `stratum+tcp://${host}${port !== undefined ? `:${port}` : ''}`;
    const pool: PoolSnapshot = { url, active };
    setIfDefined(pool, 'user', str(info[`${prefix}User`]));
    pools.push(pool);
  }
  return pools.length ? pools : undefined;
}
