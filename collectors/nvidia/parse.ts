import type { DeviceSnapshot, GpuSnapshot } from '../../agent/snapshot.js';
import { idSuffix, urlHost } from '../contract.js';
import { decodeClockEventReasons, isAbsent, parseHex, parseNumber, type Quantity, type QueryPlan } from './fields.js';

const MIB = 1024 * 1024;
const MAX_UUID_CHARS = 128;
const MHZ = 1e6;

/** The rows of a `--query-gpu` answer, the rows that did not parse, and every other line (a GPU's error, a warning). */
export interface QueryOutput {
  rows: string[][];
  /** Lines that name a GPU (its UUID or index) but hold another number of cells: a missing column, a comma in a name. */
  brokenRows: BrokenRow[];
  problems: string[];
}

export interface BrokenRow {
  line: string;
  cells: number;
  uuid?: string;
  index?: number;
}

const GPU_UUID = /^(GPU|MIG)-[0-9A-Za-z-]+$/;

/**
 * A GPU's device id: the node it was read on, then its UUID (which survives reboots and re-slotting),
 * so no node can report a device of another node or another kind. Without a UUID, the node's own id.
 */
export function gpuIdOf(host: string, uuid?: string): string {
  return uuid === undefined || uuid === '' ? `gpu/${urlHost(host)}` : `gpu/${urlHost(host)}/${uuid}`;
}

/**
 * Splits `--query-gpu` CSV into rows of `fields.length` cells. A header line (`--format=csv` without
 * `noheader`) is skipped; a line with another cell count is kept as a problem, since that is how
 * nvidia-smi reports one GPU it cannot read among others it can ("Unable to determine the device
 * handle for GPU 0000:3B:00.0: Unknown Error").
 */
export function parseQueryOutput(text: string, fields: readonly string[]): QueryOutput {
  const rows: string[][] = [];
  const brokenRows: BrokenRow[] = [];
  const problems: string[] = [];
  let first = true;
  const indexColumn = fields.indexOf('index');
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const cells = line.split(',').map((cell) => cell.trim());
    const header = first && cells.length === fields.length && headerName(cells[0]!) === fields[0];
    first = false;
    if (header) continue;
    if (cells.length === fields.length) {
      rows.push(cells);
      continue;
    }
    const broken = brokenRow(line.trim(), cells, indexColumn);
    if (broken) brokenRows.push(broken);
    else problems.push(line.trim());
  }
  return { rows, brokenRows, problems };
}

/**
 * A line that is a GPU's row gone wrong: its UUID among the cells (a comma in a name shifts it right) or,
 * with several cells, its index first. An error line nvidia-smi prints for a GPU holds neither.
 */
function brokenRow(line: string, cells: readonly string[], indexColumn: number): BrokenRow | undefined {
  if (cells.length < 2) return undefined;
  const uuid = cells.find((cell) => GPU_UUID.test(cell));
  const index = indexColumn === 0 && /^\d{1,4}$/.test(cells[0]!) ? Number(cells[0]) : undefined;
  if (uuid === undefined && index === undefined) return undefined;
  const row: BrokenRow = { line, cells: cells.length };
  if (uuid !== undefined) row.uuid = uuid;
  if (index !== undefined) row.index = index;
  return row;
}

/** `memory.used [MiB]` → `memory.used`: the field name in a `--format=csv` header. */
export function headerName(cell: string): string {
  return cell.replace(/\s*\[[^\]]*\]\s*$/, '').trim();
}

/** Splits a whole `--format=csv` answer (header included) into its field names and rows. */
export function parseCsvWithHeader(text: string): { fields: string[]; output: QueryOutput } {
  const first = text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  const fields = first.split(',').map((cell) => headerName(cell));
  return { fields, output: parseQueryOutput(text, fields) };
}

export interface GpuRowContext {
  target: { url: string; host: string; labels: Record<string, string>; idQualifier?: string };
  observedAt: Date;
}

/**
 * One GPU's row as a snapshot: percentages become ratios, MiB bytes, MHz hertz; a cell nvidia-smi
 * could not fill (`[N/A]`, `[Not Supported]`, …) leaves its field out. The id is the node and the GPU
 * UUID (gpuIdOf).
 */
export function readGpuRow(cells: readonly string[], plan: QueryPlan, context: GpuRowContext): DeviceSnapshot {
  const text = (q: Quantity): string | undefined => {
    for (const column of plan.columns[q] ?? []) {
      const value = cells[column];
      if (!isAbsent(value)) return value!.trim();
    }
    return undefined;
  };
  const number = (q: Quantity): number | undefined => {
    for (const column of plan.columns[q] ?? []) {
      const value = parseNumber(cells[column]);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const scaled = (q: Quantity, factor: number) => {
    const value = number(q);
    return value === undefined ? undefined : value * factor;
  };

  const index = number('index');
  // A UUID is 40 characters; a cell far longer is not one, and must not become an id.
  const printedUuid = text('uuid');
  const uuid = printedUuid !== undefined && printedUuid.length <= MAX_UUID_CHARS ? printedUuid : undefined;
  const name = text('name');
  const driver = text('driver_version');
  const gpu: GpuSnapshot = { index: index ?? -1, uuid: uuid ?? '' };
  assign(gpu, 'name', name);
  assign(gpu, 'pci_bus_id', text('pci_bus_id'));
  assign(gpu, 'driver_version', driver);
  assign(gpu, 'utilization_ratio', ratio(number('utilization_pct')));
  assign(gpu, 'memory_utilization_ratio', ratio(number('memory_utilization_pct')));
  assign(gpu, 'memory_used_bytes', scaled('memory_used_mib', MIB));
  assign(gpu, 'memory_total_bytes', scaled('memory_total_mib', MIB));
  assign(gpu, 'power_limit_w', number('power_limit_w'));
  assign(gpu, 'sm_clock_hz', scaled('sm_clock_mhz', MHZ));
  assign(gpu, 'memory_clock_hz', scaled('memory_clock_mhz', MHZ));
  assign(gpu, 'pstate', text('pstate'));
  const mask = firstHex(cells, plan.columns.clock_event_mask);
  if (mask !== undefined) gpu.throttle_reasons = decodeClockEventReasons(mask);
  assign(gpu, 'ecc_errors_corrected', number('ecc_corrected'));
  assign(gpu, 'ecc_errors_uncorrected', number('ecc_uncorrected'));
  assign(gpu, 'fan_speed_ratio', ratio(number('fan_speed_pct')));
  const mig = text('mig_mode');
  if (mig === 'Enabled' || mig === 'Disabled') gpu.mig_enabled = mig === 'Enabled';
  const totalEnergyMj = number('total_energy_mj');
  if (totalEnergyMj !== undefined) gpu.energy_j = totalEnergyMj / 1000;

  const temperatures: Record<string, number> = {};
  assign(temperatures, 'gpu', number('temperature_gpu_c'));
  assign(temperatures, 'memory', number('temperature_memory_c'));

  const snapshot: DeviceSnapshot = {
    id: gpuIdOf(context.target.host + idSuffix(context.target), uuid ?? `index${index ?? '?'}`),
    kind: 'gpu',
    target: context.target.url,
    address: context.target.host,
    labels: context.target.labels,
    vendor: 'NVIDIA',
    dialect: 'nvidia-smi',
    up: true,
    observed_at: context.observedAt.toISOString(),
    temperatures_c: temperatures,
    // nvidia-smi gives fan speed as a percentage of the fan's maximum, never RPM: see gpu.fan_speed_ratio.
    fans_rpm: [],
    gpu,
  };
  assign(snapshot, 'model', name);
  assign(snapshot, 'firmware', driver);
  assign(snapshot, 'serial', text('serial'));
  const watts = number('power_draw_w');
  if (watts !== undefined) {
    snapshot.power_w = watts;
    snapshot.power_source = 'gpu_counter';
    snapshot.power_by_source_w = { gpu_counter: watts };
  }
  return snapshot;
}

function firstHex(cells: readonly string[], columns: readonly number[] | undefined): bigint | undefined {
  for (const column of columns ?? []) {
    const value = parseHex(cells[column]);
    if (value !== undefined) return value;
  }
  return undefined;
}

function ratio(percent: number | undefined): number | undefined {
  return percent === undefined ? undefined : percent / 100;
}

function assign<T extends object, K extends keyof T>(into: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) into[key] = value;
}
