/**
 * The one shape a device's reading has everywhere: the CLI's `--json`, `/api/devices`, MQTT state.
 * Keys are snake_case with their unit in the name, because this object *is* the wire contract;
 * a field a device did not report is absent, never zero.
 */

export type DeviceKind = 'asic' | 'gpu' | 'pdu' | 'sensor' | 'host';

/** Where a watt figure came from, most trusted first: pdu > reported > gpu_counter > nameplate > estimated. */
export type PowerSource = 'pdu' | 'reported' | 'gpu_counter' | 'nameplate' | 'estimated';
export const POWER_SOURCE_PRECEDENCE: readonly PowerSource[] = ['pdu', 'reported', 'gpu_counter', 'nameplate', 'estimated'];

/**
 * Why a device is down, as a bounded code fit for a metric label; `error` holds the human sentence.
 * timeout: no complete reply in time · refused / unreachable / reset: TCP level · malformed: a reply
 * that could not be parsed or repaired · too_large: over the response cap · api_error: the device
 * answered with an error status · exec: a local command (nvidia-smi, ssh) failed · backoff: not
 * polled this round because the device kept failing.
 */
export type ErrorReason = 'timeout' | 'refused' | 'unreachable' | 'reset' | 'malformed' | 'too_large' | 'api_error' | 'exec' | 'backoff' | 'other';
export const ERROR_REASONS: readonly ErrorReason[] = ['timeout', 'refused', 'unreachable', 'reset', 'malformed', 'too_large', 'api_error', 'exec', 'backoff', 'other'];

/**
 * The proof of work a miner hashes. Bitcoin's is `sha256`; a hashrate of any other is not Bitcoin's
 * and is never priced by the Bitcoin hashprice (agent/economics/assess.ts). `unknown`: a machine known
 * not to mine SHA-256 (every Goldshell) whose model the catalog lacks.
 */
export type HashAlgorithm = 'sha256' | 'scrypt' | 'kheavyhash' | 'blake3' | 'blake2s' | 'blake2b' | 'eaglesong' | 'unknown';

/**
 * The algorithm a device's hashrate is in, as the exporters label it: its own, else SHA-256 for an ASIC
 * (a collector or, from the catalog row, agent/enrich.ts sets any other); none for a device that hashes
 * nothing (GPU, PDU, sensor, host). Sums of hashrate across devices (the MQTT site message, the shipped
 * dashboards) take `sha256` only.
 */
export function hashAlgorithmOf(s: Pick<DeviceSnapshot, 'kind' | 'algorithm'>): HashAlgorithm | undefined {
  return s.algorithm ?? (s.kind === 'asic' ? 'sha256' : undefined);
}

/** How each algorithm is named to people: the algorithm, and the coin it is best known by. */
export const HASH_ALGORITHM_NAMES: Readonly<Record<HashAlgorithm, string>> = {
  sha256: 'SHA-256',
  scrypt: 'Scrypt (Litecoin, Dogecoin)',
  kheavyhash: 'kHeavyHash (Kaspa)',
  blake3: 'Blake3 (Alephium)',
  blake2s: 'Blake2s (Kadena)',
  blake2b: 'Blake2b (Siacoin)',
  eaglesong: 'Eaglesong (Nervos)',
  unknown: 'an algorithm the catalog does not name',
};

export type BoardStatus = 'ok' | 'degraded' | 'dead';

export interface BoardSnapshot {
  index: number;
  status: BoardStatus;
  hashrate_hs?: number;
  nominal_hashrate_hs?: number;
  /** Hottest chip on the board. */
  chip_temperature_c?: number;
  /** PCB sensor. */
  board_temperature_c?: number;
  chips?: number;
  chips_expected?: number;
  hardware_errors?: number;
}

export interface PoolSnapshot {
  url: string;
  user?: string;
  status?: string;
  active?: boolean;
  accepted_shares?: number;
  rejected_shares?: number;
  stale_shares?: number;
}

export interface GpuSnapshot {
  index: number;
  uuid: string;
  name?: string;
  pci_bus_id?: string;
  driver_version?: string;
  utilization_ratio?: number;
  memory_utilization_ratio?: number;
  memory_used_bytes?: number;
  memory_total_bytes?: number;
  power_limit_w?: number;
  sm_clock_hz?: number;
  memory_clock_hz?: number;
  pstate?: string;
  /** Active throttle / clock-event reasons by name (e.g. `sw_power_cap`, `hw_thermal_slowdown`). */
  throttle_reasons?: string[];
  ecc_errors_corrected?: number;
  ecc_errors_uncorrected?: number;
  /** Fan speed as a share of the fan's maximum (nvidia-smi reports a percentage, not RPM). */
  fan_speed_ratio?: number;
  /** MIG mode: when on, utilization is reported per MIG instance and not for the whole GPU. */
  mig_enabled?: boolean;
  /** Energy counter in joules: the driver's total_energy_consumption where it has one, else integrated from power by the agent. */
  energy_j?: number;
}

/** One PDU outlet's readings, in the PDU's own outlet numbering. */
export interface OutletSnapshot {
  /** Outlet number as the PDU labels it (1-based). */
  index: number;
  name?: string;
  state?: 'on' | 'off';
  power_w?: number;
  current_a?: number;
  voltage_v?: number;
  /** The outlet's energy meter: a counter, reset only when someone resets it on the PDU. */
  energy_j?: number;
}

/** One input phase (or line) of a PDU or meter. */
export interface PhaseSnapshot {
  /** Phase number (1-based). */
  index: number;
  /** The PDU's name for it (`L1`, `AA:L1`), when it has one. */
  name?: string;
  current_a?: number;
  voltage_v?: number;
  power_w?: number;
}

/** A server's own view of itself, read over SNMP (HOST-RESOURCES, UCD-SNMP). */
export interface HostSnapshot {
  /** Mean busy share across processors over the agent's last minute. */
  cpu_utilization_ratio?: number;
  cpus?: number;
  load1?: number;
  memory_total_bytes?: number;
  memory_used_bytes?: number;
  /** Fixed disks and file systems. */
  storage?: { name: string; total_bytes: number; used_bytes: number }[];
}

export interface DeviceSnapshot {
  /** Stable: serial / MAC / GPU UUID when known, else `<kind>/<address>`. */
  id: string;
  kind: DeviceKind;
  /** The configured target URL this reading came from. */
  target: string;
  /** Host or IP the device answers on. */
  address?: string;
  /** Operator labels from config (site, room, rack, …). */
  labels: Record<string, string>;
  vendor?: string;
  model?: string;
  firmware?: string;
  /** Which parser read this device (e.g. `antminer`, `whatsminer`). */
  dialect?: string;
  /** What it hashes, where the device or its catalog row says; absent means SHA-256 unless the catalog says otherwise. */
  algorithm?: HashAlgorithm;
  serial?: string;
  mac?: string;

  up: boolean;
  /** Why the device is down, or what could not be read while it is up (e.g. a missing board). */
  error?: string;
  error_reason?: ErrorReason;
  /** ISO 8601 time of the reading. */
  observed_at: string;
  uptime_s?: number;

  hashrate_hs?: number;
  nominal_hashrate_hs?: number;
  power_w?: number;
  power_source?: PowerSource;
  /** Every power figure seen for this device, so a firmware that under-reports shows against the PDU. */
  power_by_source_w?: Partial<Record<PowerSource, number>>;
  power_limit_w?: number;
  efficiency_j_per_th?: number;

  /** Sensor name → °C. Names are stable per dialect (`inlet`, `outlet`, `chip_max`, `board0_chip`, …). */
  temperatures_c: Record<string, number>;
  /** RPM per fan, in the device's fan order. */
  fans_rpm: number[];
  boards?: BoardSnapshot[];
  pools?: PoolSnapshot[];

  accepted_shares?: number;
  rejected_shares?: number;
  stale_shares?: number;
  hardware_errors?: number;

  /** Sensor name → relative humidity as a ratio (0.45 for 45 %RH). */
  humidity_ratio?: Record<string, number>;
  /** Present for PDUs that meter or switch per outlet. */
  outlets?: OutletSnapshot[];
  /** Present for PDUs and meters that report per input phase. */
  phases?: PhaseSnapshot[];
  /** A PDU's or meter's total energy meter, in joules: a counter. */
  energy_j?: number;
  /** Present when kind is `host`. */
  host?: HostSnapshot;

  /** Present when kind is `gpu`: one snapshot per GPU, its id the GPU UUID. */
  gpu?: GpuSnapshot;
}

/** What names a device before anything was read from it: enough to report it down. */
export type DeviceIdentity = Pick<DeviceSnapshot, 'id' | 'kind' | 'target' | 'labels'> & { address?: string };

/** A snapshot for a device that could not be read: up=false with the reason, nothing guessed. */
export function downSnapshot(base: DeviceIdentity, reason: ErrorReason, error: string, at = new Date()): DeviceSnapshot {
  return { ...base, up: false, error, error_reason: reason, observed_at: at.toISOString(), temperatures_c: {}, fans_rpm: [] };
}

/**
 * A device that answered before and failed now: down with the reason, keeping what names it (make,
 * model, firmware, algorithm, serial, the GPU's index and UUID) and none of its readings.
 */
export function downSince(last: DeviceSnapshot, reason: ErrorReason, error: string, at = new Date()): DeviceSnapshot {
  const identity: DeviceIdentity = { id: last.id, kind: last.kind, target: last.target, labels: last.labels };
  if (last.address !== undefined) identity.address = last.address;
  const down = downSnapshot(identity, reason, error, at);
  for (const key of IDENTITY_KEYS) if (last[key] !== undefined) down[key] = last[key];
  if (last.algorithm !== undefined) down.algorithm = last.algorithm;
  if (last.gpu) down.gpu = { index: last.gpu.index, uuid: last.gpu.uuid, ...(last.gpu.name !== undefined && { name: last.gpu.name }) };
  return down;
}

const IDENTITY_KEYS = ['vendor', 'model', 'firmware', 'dialect', 'serial', 'mac'] as const;

/**
 * A poll that failed, with the bounded reason the device is reported down with. Collectors throw it
 * (or a subclass); the scheduler turns any throw into down devices, so a collector never builds them.
 */
export class PollError extends Error {
  override readonly name: string = 'PollError';
  constructor(
    readonly reason: ErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** Longest error text a device carries: a reply or stderr quoted into it must not grow the state without bound. */
export const MAX_ERROR_CHARS = 500;

/**
 * Characters that must not reach a terminal, a log line or a label verbatim: C0/C1 controls, the
 * replacement character a non-UTF-8 byte decodes to, lone surrogates and bidi overrides.
 */
const UNPRINTABLE =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffd\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * One printable line of at most MAX_ERROR_CHARS: what a thrown error becomes on a device. A garbage
 * reply quoted into the message shows its unprintable characters escaped (`\x00`, `\ufffd`).
 */
export function errorText(err: unknown): string {
  const text =
    (err instanceof Error ? err.message : String(err))
      .slice(0, MAX_ERROR_CHARS * 2)
      .replace(/[\t\n\r ]+/g, ' ')
      .replace(UNPRINTABLE, (c) => {
        const code = c.charCodeAt(0);
        return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      })
      .trim() || 'unknown error';
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

/** J/TH from watts and H/s; undefined unless both are real, positive readings. */
export function efficiencyJPerTh(powerW: number | undefined, hashrateHs: number | undefined): number | undefined {
  if (powerW === undefined || hashrateHs === undefined || !(powerW > 0) || !(hashrateHs > 0)) return undefined;
  return powerW / (hashrateHs / 1e12);
}
