/**
 * What a reading may hold before it is stored: every number inside its quantity's plausible range,
 * every list within its cap. A device (or a hostile peer posing as one) decides what its reply says;
 * this is where the agent decides what it believes. A value out of range is left out, never clamped,
 * and counted under its field, so `1e308` cannot make a fleet sum +Inf and 40,000 boards cannot make
 * 240,000 series.
 */
import type { BoardSnapshot, DeviceSnapshot, GpuSnapshot, HostSnapshot, OutletSnapshot, PhaseSnapshot, PoolSnapshot } from '../agent/snapshot.js';
import type { RejectSink } from './contract.js';

/** Caps on what one poll may record, from the `polling.limits` section. */
export interface SnapshotLimits {
  boardsPerDevice: number;
  fansPerDevice: number;
  /** Temperature and humidity sensors each. */
  sensorsPerDevice: number;
  poolsPerDevice: number;
  /** Outlets, phases and storage volumes each. */
  outletsPerDevice: number;
  devicesPerTarget: number;
}

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = {
  boardsPerDevice: 64,
  fansPerDevice: 64,
  sensorsPerDevice: 128,
  poolsPerDevice: 16,
  outletsPerDevice: 256,
  devicesPerTarget: 64,
};

/** The `polling.limits` section (config/schema.ts) as the scheduler applies it; typed by shape, as collectors import this module. */
export function snapshotLimitsOf(config: {
  polling: { limits: Record<`${'boards' | 'fans' | 'sensors' | 'pools' | 'outlets'}_per_device` | 'devices_per_target', number> };
}): SnapshotLimits {
  const l = config.polling.limits;
  return {
    boardsPerDevice: l.boards_per_device,
    fansPerDevice: l.fans_per_device,
    sensorsPerDevice: l.sensors_per_device,
    poolsPerDevice: l.pools_per_device,
    outletsPerDevice: l.outlets_per_device,
    devicesPerTarget: l.devices_per_target,
  };
}

/** Inclusive bounds of one quantity; a reading outside them is a fault of the device, not a reading. */
interface Bounds {
  readonly min: number;
  readonly max: number;
}

/** Per-quantity bounds, in base units; README "Bounds on what a device reports" lists them. */
export const BOUNDS = {
  hashrate_hs: { min: 0, max: 1e18 },
  /** One device's draw; a PDU or site meter may carry a whole hall. */
  device_w: { min: 0, max: 1e6 },
  meter_w: { min: 0, max: 1e9 },
  temperature_c: { min: -60, max: 200 },
  fan_rpm: { min: 0, max: 50_000 },
  ratio: { min: 0, max: 1 },
  count: { min: 0, max: Number.MAX_SAFE_INTEGER },
  current_a: { min: 0, max: 10_000 },
  voltage_v: { min: 0, max: 100_000 },
  bytes: { min: 0, max: 2 ** 60 },
  clock_hz: { min: 0, max: 1e11 },
  load: { min: 0, max: 1e6 },
} as const satisfies Record<string, Bounds>;

/** Longest text a reading keeps in one field (a model, a pool URL, an outlet name): they become label values. */
export const MAX_TEXT_CHARS = 256;

/**
 * Checks one device reading in place: each number outside its bounds is deleted and told to `reject`,
 * each list cut to its cap. Returns the same snapshot.
 */
export function saneSnapshot(snapshot: DeviceSnapshot, limits: SnapshotLimits, reject: RejectSink): DeviceSnapshot {
  const check = new Checker(reject);
  const power = snapshot.kind === 'pdu' || snapshot.kind === 'sensor' ? BOUNDS.meter_w : BOUNDS.device_w;
  const s = snapshot as unknown as Record<string, unknown>;
  for (const key of TEXT_FIELDS) check.text(s, key, '');
  check.field(s, 'uptime_s', BOUNDS.count, '');
  check.field(s, 'hashrate_hs', BOUNDS.hashrate_hs, '');
  check.field(s, 'nominal_hashrate_hs', BOUNDS.hashrate_hs, '');
  check.field(s, 'power_w', power, '');
  check.field(s, 'power_limit_w', power, '');
  check.field(s, 'efficiency_j_per_th', BOUNDS.count, '');
  check.field(s, 'accepted_shares', BOUNDS.count, '');
  check.field(s, 'rejected_shares', BOUNDS.count, '');
  check.field(s, 'stale_shares', BOUNDS.count, '');
  check.field(s, 'hardware_errors', BOUNDS.count, '');
  check.field(s, 'energy_j', BOUNDS.count, '');
  if (snapshot.power_by_source_w) {
    check.record(snapshot.power_by_source_w as Record<string, number>, power, 'power_by_source_w', Infinity);
    if (Object.keys(snapshot.power_by_source_w).length === 0) delete snapshot.power_by_source_w;
  }
  if (snapshot.power_w === undefined && snapshot.power_source !== undefined) delete snapshot.power_source;
  check.record(snapshot.temperatures_c, BOUNDS.temperature_c, 'temperatures_c', limits.sensorsPerDevice);
  if (snapshot.humidity_ratio) check.record(snapshot.humidity_ratio, BOUNDS.ratio, 'humidity_ratio', limits.sensorsPerDevice);
  snapshot.fans_rpm = check.list(snapshot.fans_rpm, BOUNDS.fan_rpm, 'fans_rpm', limits.fansPerDevice);
  if (snapshot.boards) snapshot.boards = check.items(snapshot.boards, 'boards', limits.boardsPerDevice, saneBoard);
  if (snapshot.pools) snapshot.pools = check.items(snapshot.pools, 'pools', limits.poolsPerDevice, sanePool);
  if (snapshot.outlets) snapshot.outlets = check.items(snapshot.outlets, 'outlets', limits.outletsPerDevice, saneOutlet);
  if (snapshot.phases) snapshot.phases = check.items(snapshot.phases, 'phases', limits.outletsPerDevice, sanePhase);
  if (snapshot.gpu) saneGpu(check, snapshot.gpu);
  if (snapshot.host) saneHost(check, snapshot.host, limits);
  return snapshot;
}

/** A target's devices within `limits.devicesPerTarget`, each of them checked; the rest counted and left out. */
export function saneSnapshots(snapshots: DeviceSnapshot[], limits: SnapshotLimits, reject: RejectSink): DeviceSnapshot[] {
  if (snapshots.length > limits.devicesPerTarget) {
    reject('devices', 'over_limit', snapshots.length - limits.devicesPerTarget);
    snapshots = snapshots.slice(0, limits.devicesPerTarget);
  }
  for (const snapshot of snapshots) saneSnapshot(snapshot, limits, reject);
  return snapshots;
}

/** The one finite number in `bounds`, else undefined: for a reading checked where it is parsed. */
export function within(value: number | undefined, bounds: Bounds): number | undefined {
  return value !== undefined && Number.isFinite(value) && value >= bounds.min && value <= bounds.max ? value : undefined;
}

const TEXT_FIELDS = ['vendor', 'model', 'firmware', 'serial', 'mac'] as const;

class Checker {
  constructor(readonly reject: RejectSink) {}

  /** Cuts a text past MAX_TEXT_CHARS, marking the cut; counted as over_limit. */
  text(object: Record<string, unknown>, key: string, prefix: string): void {
    const value = object[key];
    if (typeof value !== 'string' || value.length <= MAX_TEXT_CHARS) return;
    object[key] = `${value.slice(0, MAX_TEXT_CHARS - 1)}…`;
    this.reject(prefix + key, 'over_limit');
  }

  /** Deletes `object[key]` when it is a number out of bounds (or not a number at all). */
  field(object: Record<string, unknown>, key: string, bounds: Bounds, prefix: string): void {
    const value = object[key];
    if (value === undefined) return;
    if (typeof value === 'number' && within(value, bounds) !== undefined) return;
    delete object[key];
    this.reject(prefix + key, 'out_of_range');
  }

  record(values: Record<string, number>, bounds: Bounds, field: string, cap: number): void {
    let kept = 0;
    for (const key of Object.keys(values)) {
      if (within(values[key], bounds) === undefined) {
        delete values[key];
        this.reject(field, 'out_of_range');
      } else if (++kept > cap) {
        delete values[key];
        this.reject(field, 'over_limit');
      }
    }
  }

  list(values: number[], bounds: Bounds, field: string, cap: number): number[] {
    let bad = false;
    for (const v of values) if (within(v, bounds) === undefined) bad = true;
    if (!bad && values.length <= cap) return values;
    const kept: number[] = [];
    for (const v of values) {
      if (within(v, bounds) === undefined) this.reject(field, 'out_of_range');
      else kept.push(v);
    }
    if (kept.length > cap) this.reject(field, 'over_limit', kept.length - cap);
    return kept.length > cap ? kept.slice(0, cap) : kept;
  }

  items<T>(values: T[], field: string, cap: number, sane: (check: Checker, item: T) => void): T[] {
    if (values.length > cap) {
      this.reject(field, 'over_limit', values.length - cap);
      values = values.slice(0, cap);
    }
    for (const item of values) sane(this, item);
    return values;
  }
}

function saneBoard(check: Checker, board: BoardSnapshot): void {
  const b = board as unknown as Record<string, unknown>;
  check.field(b, 'hashrate_hs', BOUNDS.hashrate_hs, 'boards.');
  check.field(b, 'nominal_hashrate_hs', BOUNDS.hashrate_hs, 'boards.');
  check.field(b, 'chip_temperature_c', BOUNDS.temperature_c, 'boards.');
  check.field(b, 'board_temperature_c', BOUNDS.temperature_c, 'boards.');
  check.field(b, 'chips', BOUNDS.count, 'boards.');
  check.field(b, 'chips_expected', BOUNDS.count, 'boards.');
  check.field(b, 'hardware_errors', BOUNDS.count, 'boards.');
}

function sanePool(check: Checker, pool: PoolSnapshot): void {
  const p = pool as unknown as Record<string, unknown>;
  check.text(p, 'url', 'pools.');
  check.text(p, 'user', 'pools.');
  check.text(p, 'status', 'pools.');
  check.field(p, 'accepted_shares', BOUNDS.count, 'pools.');
  check.field(p, 'rejected_shares', BOUNDS.count, 'pools.');
  check.field(p, 'stale_shares', BOUNDS.count, 'pools.');
}

function saneOutlet(check: Checker, outlet: OutletSnapshot): void {
  const o = outlet as unknown as Record<string, unknown>;
  check.text(o, 'name', 'outlets.');
  check.field(o, 'power_w', BOUNDS.device_w, 'outlets.');
  check.field(o, 'current_a', BOUNDS.current_a, 'outlets.');
  check.field(o, 'voltage_v', BOUNDS.voltage_v, 'outlets.');
  check.field(o, 'energy_j', BOUNDS.count, 'outlets.');
}

function sanePhase(check: Checker, phase: PhaseSnapshot): void {
  const p = phase as unknown as Record<string, unknown>;
  check.text(p, 'name', 'phases.');
  check.field(p, 'power_w', BOUNDS.meter_w, 'phases.');
  check.field(p, 'current_a', BOUNDS.current_a, 'phases.');
  check.field(p, 'voltage_v', BOUNDS.voltage_v, 'phases.');
}

function saneGpu(check: Checker, gpu: GpuSnapshot): void {
  const g = gpu as unknown as Record<string, unknown>;
  for (const key of ['name', 'pci_bus_id', 'driver_version', 'pstate']) check.text(g, key, 'gpu.');
  check.field(g, 'utilization_ratio', BOUNDS.ratio, 'gpu.');
  check.field(g, 'memory_utilization_ratio', BOUNDS.ratio, 'gpu.');
  check.field(g, 'fan_speed_ratio', BOUNDS.ratio, 'gpu.');
  check.field(g, 'memory_used_bytes', BOUNDS.bytes, 'gpu.');
  check.field(g, 'memory_total_bytes', BOUNDS.bytes, 'gpu.');
  check.field(g, 'power_limit_w', BOUNDS.device_w, 'gpu.');
  check.field(g, 'sm_clock_hz', BOUNDS.clock_hz, 'gpu.');
  check.field(g, 'memory_clock_hz', BOUNDS.clock_hz, 'gpu.');
  check.field(g, 'ecc_errors_corrected', BOUNDS.count, 'gpu.');
  check.field(g, 'ecc_errors_uncorrected', BOUNDS.count, 'gpu.');
  check.field(g, 'energy_j', BOUNDS.count, 'gpu.');
}

function saneHost(check: Checker, host: HostSnapshot, limits: SnapshotLimits): void {
  const h = host as unknown as Record<string, unknown>;
  check.field(h, 'cpu_utilization_ratio', BOUNDS.ratio, 'host.');
  check.field(h, 'cpus', BOUNDS.count, 'host.');
  check.field(h, 'load1', BOUNDS.load, 'host.');
  check.field(h, 'memory_total_bytes', BOUNDS.bytes, 'host.');
  check.field(h, 'memory_used_bytes', BOUNDS.bytes, 'host.');
  if (host.storage) {
    const volumes = host.storage.filter((v) => within(v.total_bytes, BOUNDS.bytes) !== undefined && within(v.used_bytes, BOUNDS.bytes) !== undefined);
    if (volumes.length < host.storage.length) check.reject('host.storage', 'out_of_range', host.storage.length - volumes.length);
    host.storage = check.items(volumes, 'host.storage', limits.outletsPerDevice, () => {});
  }
}
