/**
 * What Potencia asks nvidia-smi for, and how the answer is read. Field names differ between drivers
 * (`clocks_throttle_reasons.*` became `clocks_event_reasons.*`; `power.draw` split into `.average` and
 * `.instant`), so each quantity lists its spellings and the collector asks only for those the binary
 * says it supports (`--help-query-gpu`).
 */

/** A quantity read from one or more `--query-gpu` fields. */
export interface QuantitySpec {
  /**
   * Field names in order of preference. `aliases`: the same value under another name, ask for the
   * first supported one only. `fallbacks`: different readings of one quantity, ask for every
   * supported one and take the first with a value on each GPU (a GeForce answers `[N/A]` to
   * `power.draw.average` while `power.draw` has a figure).
   */
  readonly names: readonly string[];
  readonly mode: 'aliases' | 'fallbacks';
}

export const QUANTITIES = {
  index: { names: ['index'], mode: 'aliases' },
  uuid: { names: ['uuid', 'gpu_uuid'], mode: 'aliases' },
  name: { names: ['name', 'gpu_name'], mode: 'aliases' },
  serial: { names: ['serial', 'gpu_serial'], mode: 'aliases' },
  pci_bus_id: { names: ['pci.bus_id', 'gpu_bus_id'], mode: 'aliases' },
  driver_version: { names: ['driver_version'], mode: 'aliases' },
  utilization_pct: { names: ['utilization.gpu'], mode: 'aliases' },
  memory_utilization_pct: { names: ['utilization.memory'], mode: 'aliases' },
  memory_used_mib: { names: ['memory.used'], mode: 'aliases' },
  memory_total_mib: { names: ['memory.total'], mode: 'aliases' },
  temperature_gpu_c: { names: ['temperature.gpu'], mode: 'aliases' },
  temperature_memory_c: { names: ['temperature.memory'], mode: 'aliases' },
  // The one-second average first: it is what the driver itself reports as power.draw on newer GPUs,
  // and it integrates into energy better than an instant sample.
  power_draw_w: { names: ['power.draw.average', 'power.draw', 'power.draw.instant'], mode: 'fallbacks' },
  // The limit in force (it can sit below the requested one, e.g. under a chassis cap).
  power_limit_w: { names: ['enforced.power.limit', 'power.limit'], mode: 'fallbacks' },
  sm_clock_mhz: { names: ['clocks.current.sm', 'clocks.sm'], mode: 'aliases' },
  memory_clock_mhz: { names: ['clocks.current.memory', 'clocks.mem'], mode: 'aliases' },
  pstate: { names: ['pstate'], mode: 'aliases' },
  clock_event_mask: { names: ['clocks_event_reasons.active', 'clocks_throttle_reasons.active'], mode: 'aliases' },
  fan_speed_pct: { names: ['fan.speed'], mode: 'aliases' },
  mig_mode: { names: ['mig.mode.current'], mode: 'aliases' },
  // Lifetime counts (kept in the InfoROM across reboots), so the exported counter does not reset with
  // the driver; the volatile ones do.
  ecc_corrected: { names: ['ecc.errors.corrected.aggregate.total'], mode: 'aliases' },
  ecc_uncorrected: { names: ['ecc.errors.uncorrected.aggregate.total'], mode: 'aliases' },
  total_energy_mj: { names: ['total_energy_consumption'], mode: 'aliases' },
} as const satisfies Record<string, QuantitySpec>;

export type Quantity = keyof typeof QUANTITIES;

/**
 * Fields every nvidia-smi since the 300-series drivers answers; asked for when `--help-query-gpu` gives
 * nothing usable (a wrapper that only forwards queries, say).
 */
export const BASELINE_FIELDS: ReadonlySet<string> = new Set([
  'index',
  'uuid',
  'name',
  'pci.bus_id',
  'driver_version',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'clocks.sm',
  'clocks.mem',
  'pstate',
  'fan.speed',
]);

/** Which fields to ask for, and which columns answer each quantity. */
export interface QueryPlan {
  /** The `--query-gpu=` list, in column order. */
  readonly fields: readonly string[];
  /** Per quantity, the column indexes to try in order. */
  readonly columns: Readonly<Partial<Record<Quantity, readonly number[]>>>;
}

/** Plans one query from the fields a binary supports; quantities it supports under no name are left out. */
export function planQuery(supported: ReadonlySet<string>): QueryPlan {
  const fields: string[] = [];
  for (const quantity of Object.keys(QUANTITIES) as Quantity[]) {
    for (const name of chosenNames(QUANTITIES[quantity], supported)) if (!fields.includes(name)) fields.push(name);
  }
  return planForColumns(fields);
}

/** Reads columns already laid out (a capture's header, say) with the same preferences planQuery uses. */
export function planForColumns(fields: readonly string[]): QueryPlan {
  const present = new Set(fields);
  const columns: Partial<Record<Quantity, number[]>> = {};
  for (const quantity of Object.keys(QUANTITIES) as Quantity[]) {
    const chosen = chosenNames(QUANTITIES[quantity], present);
    if (chosen.length > 0) columns[quantity] = chosen.map((name) => fields.indexOf(name));
  }
  return { fields, columns };
}

function chosenNames(spec: QuantitySpec, supported: ReadonlySet<string>): readonly string[] {
  const available = spec.names.filter((name) => supported.has(name));
  return spec.mode === 'aliases' ? available.slice(0, 1) : available;
}

/**
 * Every field name `nvidia-smi --help-query-gpu` lists. Each entry starts a line with the name in
 * quotes, aliases after ` or ` (`"clocks_event_reasons.active" or "clocks_throttle_reasons.active"`);
 * description lines never start with a quote.
 */
export function parseHelpQueryGpu(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith('"')) continue;
    for (const m of line.matchAll(/"([A-Za-z0-9_.-]+)"/g)) names.add(m[1]!);
  }
  return names;
}

/**
 * A value that is not a reading: `[N/A]`, `N/A`, `[Not Supported]`, `[Unknown Error]`,
 * `[Requested functionality has been deprecated]`, `[Insufficient Permissions]`, `[GPU requires reset]`
 * — every bracketed text nvidia-smi prints instead of a value — and an empty cell.
 */
export function isAbsent(value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  return v === '' || v === 'N/A' || (v.startsWith('[') && v.endsWith(']'));
}

/**
 * A number from a cell, with or without its unit (`69.85`, `69.85 W`, `81559 MiB`, `38 %`, `0 us`),
 * since `--format=csv` keeps units and `nounits` drops them. Undefined for anything else.
 */
export function parseNumber(value: string | undefined): number | undefined {
  if (isAbsent(value)) return undefined;
  const m = /^(-?\d+(?:\.\d+)?)(?:\s*[A-Za-z%/]+)?$/.exec(value!.trim());
  return m ? Number(m[1]) : undefined;
}

/** `0x0000000000000044` → 68; undefined when it is not hexadecimal. */
export function parseHex(value: string | undefined): bigint | undefined {
  if (isAbsent(value)) return undefined;
  const v = value!.trim();
  return /^0x[0-9a-fA-F]+$/.test(v) ? BigInt(v) : undefined;
}

/**
 * NVML's clock event (formerly "throttle") reason bits, named as nvidia-smi names its per-reason fields.
 * A bit not listed here is reported as `other`.
 */
export const CLOCK_EVENT_REASONS = [
  ['gpu_idle', 0x1n],
  ['applications_clocks_setting', 0x2n],
  ['sw_power_cap', 0x4n],
  ['hw_slowdown', 0x8n],
  ['sync_boost', 0x10n],
  ['sw_thermal_slowdown', 0x20n],
  ['hw_thermal_slowdown', 0x40n],
  ['hw_power_brake_slowdown', 0x80n],
  ['display_clock_setting', 0x100n],
] as const;

export type ClockEventReason = (typeof CLOCK_EVENT_REASONS)[number][0] | 'other';

const KNOWN_REASON_BITS = CLOCK_EVENT_REASONS.reduce((all, [, bit]) => all | bit, 0n);

/** The active reasons in a `clocks_event_reasons.active` bitmask, by name. */
export function decodeClockEventReasons(mask: bigint): ClockEventReason[] {
  const active: ClockEventReason[] = CLOCK_EVENT_REASONS.filter(([, bit]) => (mask & bit) !== 0n).map(([name]) => name);
  if ((mask & ~KNOWN_REASON_BITS) !== 0n) active.push('other');
  return active;
}
