import { BOUNDS, within } from '../ranges.js';
import { downSnapshot, type DeviceIdentity, type DeviceSnapshot, type ErrorReason } from '../../agent/snapshot.js';
import { idSuffix, type Collector, type RejectSink, type Target } from '../contract.js';
import { commandLine, nodeProblem, nvidiaNodeOf, sshFailureReason, type NvidiaNode } from './command.js';
import { EnergyMeter } from './energy.js';
import { ExecError, runCommand, type ExecResult } from './exec.js';
import { BASELINE_FIELDS, parseHelpQueryGpu, planQuery, type QueryPlan } from './fields.js';
import { gpuIdOf, parseQueryOutput, readGpuRow, type QueryOutput } from './parse.js';

export interface NvidiaCollectorOptions {
  /** stdout plus stderr beyond this marks the node down (too_large). */
  maxResponseBytes?: number;
  /** Clock for energy integration; tests pass their own. */
  now?: () => number;
  /** Environment of the command (PATH decides which nvidia-smi or ssh runs); defaults to the agent's. */
  env?: NodeJS.ProcessEnv;
  /** GPUs read per node (polling.limits.devices_per_target); rows past it are not read, and told to `reject`. */
  maxDevices?: number;
  reject?: RejectSink;
}

/** Without a configured cap: as polling.limits.devices_per_target defaults. */
const DEFAULT_MAX_GPUS = 64;

/** What nvidia-smi prints when the driver cannot be reached at all: whatever else it printed, the node is down. */
const NODE_FAILURE = /Failed to initialize NVML|NVIDIA-SMI has failed/i;

/** A driver needs at least this many fields listed before its help is trusted over BASELINE_FIELDS. */
const MIN_HELP_FIELDS = 5;
/** Longest silence integrated into the energy counter: three intervals, at least a minute. */
const MIN_ENERGY_GAP_MS = 60_000;
const MAX_ERROR_TEXT = 500;

/** What is remembered of a GPU between polls, so a failed poll still reports it (down) under its own id. */
interface KnownGpu {
  index: number;
  uuid: string;
  name?: string;
}

/**
 * All GPUs of one node, read with one nvidia-smi invocation per poll. The fields to ask for are
 * learned once per node from `--help-query-gpu` and asked again only when the driver rejects a field
 * (it was upgraded). A failed poll rejects with an ExecError saying why; a GPU that vanished from a
 * poll that worked is reported down here, with nvidia-smi's word for it.
 */
export class NvidiaSmiCollector implements Collector {
  readonly node: NvidiaNode;
  #plan: QueryPlan | undefined;
  #inFlight: Promise<DeviceSnapshot[]> | undefined;
  readonly #known = new Map<string, KnownGpu>();
  readonly #energy: EnergyMeter;
  readonly #now: () => number;

  constructor(
    readonly target: Target,
    private readonly options: NvidiaCollectorOptions = {},
  ) {
    this.node = nvidiaNodeOf(target);
    this.#now = options.now ?? Date.now;
    this.#energy = new EnergyMeter(Math.max(3 * target.intervalMs, MIN_ENERGY_GAP_MS));
  }

  /** The fields this node's binary answers, once learned. */
  get plan(): QueryPlan | undefined {
    return this.#plan;
  }

  /** A call while a poll runs shares that poll: one nvidia-smi per node at a time, whoever asks. */
  collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
    this.#inFlight ??= this.#poll(signal).finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async #poll(signal: AbortSignal): Promise<DeviceSnapshot[]> {
    const deadline = Date.now() + this.target.timeoutMs;
    try {
      const problem = nodeProblem(this.node);
      if (problem) throw new ExecError('exec', problem);
      const plan = this.#plan ?? (await this.#learnFields(signal, deadline));
      const result = await this.#run([`--query-gpu=${plan.fields.join(',')}`, '--format=csv,noheader,nounits'], signal, deadline);
      const observedAt = new Date(this.#now());
      if (result.code !== 0 && /is not a valid field/i.test(result.stdout + result.stderr)) this.#plan = undefined;
      if (NODE_FAILURE.test(result.stdout) || NODE_FAILURE.test(result.stderr)) throw new ExecError('exec', exitMessage(result));
      const output = parseQueryOutput(result.stdout, plan.fields);
      if (output.rows.length === 0 && output.brokenRows.length === 0) {
        const reason = result.code === 0 ? 'malformed' : this.#failureReason(result);
        throw new ExecError(reason, result.code === 0 ? `nvidia-smi printed no GPU rows: ${excerpt(result.stdout + result.stderr) || '(nothing)'}` : exitMessage(result));
      }
      return this.#snapshots(output, plan, observedAt, result);
    } catch (err) {
      // The GPUs are reported down (by the scheduler): their energy stops adding up until they answer again.
      for (const id of this.#known.keys()) this.#energy.interrupt(id);
      throw err;
    }
  }

  placeholder(): DeviceIdentity {
    return { id: gpuIdOf(this.node.host + idSuffix(this.target)), kind: 'gpu', target: this.target.url, labels: this.target.labels, address: this.node.host };
  }

  async #learnFields(signal: AbortSignal, deadline: number): Promise<QueryPlan> {
    const result = await this.#run(['--help-query-gpu'], signal, deadline);
    if (result.code !== 0) throw new ExecError(this.#failureReason(result), exitMessage(result));
    const listed = parseHelpQueryGpu(result.stdout);
    this.#plan = planQuery(listed.size >= MIN_HELP_FIELDS ? listed : BASELINE_FIELDS);
    return this.#plan;
  }

  #run(args: readonly string[], signal: AbortSignal, deadline: number): Promise<ExecResult> {
    const timeoutMs = deadline - Date.now();
    if (timeoutMs <= 0) return Promise.reject(new ExecError('timeout', `no time left of the ${this.target.timeoutMs} ms timeout`));
    return runCommand(commandLine(this.node, args, this.target.timeoutMs), { timeoutMs, signal, maxOutputBytes: this.options.maxResponseBytes, env: this.options.env });
  }

  #failureReason(result: ExecResult): ErrorReason {
    return this.node.transport === 'ssh' && result.code === 255 ? sshFailureReason(result.stderr) : 'exec';
  }

  #snapshots(output: QueryOutput, plan: QueryPlan, observedAt: Date, result: ExecResult): DeviceSnapshot[] {
    const context = { target: this.target, observedAt };
    const snapshots: DeviceSnapshot[] = [];
    const seen = new Map<string, number>();
    const max = this.options.maxDevices ?? DEFAULT_MAX_GPUS;
    if (output.rows.length > max) this.options.reject?.('devices', 'over_limit', output.rows.length - max);
    const rows = output.rows.length > max ? output.rows.slice(0, max) : output.rows;
    for (const row of rows) {
      const snapshot = readGpuRow(row, plan, context);
      const gpu = snapshot.gpu!;
      // Two GPUs with one UUID (a driver fault, or a node lying): both reported, the later one flagged.
      const first = seen.get(snapshot.id);
      if (first !== undefined) {
        snapshot.error = `duplicate GPU UUID: GPU ${first} reports the same UUID`;
        snapshot.id = `${snapshot.id}/index${gpu.index}`;
        if (seen.has(snapshot.id)) continue;
      }
      if (gpu.energy_j === undefined) {
        // A power reading the agent will not believe must not add up in the counter either.
        const joules = this.#energy.record(snapshot.id, within(snapshot.power_w, BOUNDS.device_w), observedAt.getTime());
        if (joules !== undefined) gpu.energy_j = joules;
      }
      seen.set(snapshot.id, gpu.index);
      const known: KnownGpu = { index: gpu.index, uuid: gpu.uuid };
      if (gpu.name !== undefined) known.name = gpu.name;
      this.#known.set(snapshot.id, known);
      snapshots.push(snapshot);
    }
    // A row that does not parse names its GPU where it can: that GPU is down with the reason, not dropped.
    for (const broken of output.brokenRows) {
      if (snapshots.length >= max) break;
      const id = gpuIdOf(this.node.host + idSuffix(this.target), broken.uuid ?? (broken.index !== undefined ? `index${broken.index}` : undefined));
      if (seen.has(id)) continue;
      seen.set(id, broken.index ?? -1);
      this.#energy.interrupt(id);
      const known = this.#known.get(id) ?? { index: broken.index ?? -1, uuid: broken.uuid ?? '' };
      snapshots.push(this.#downGpu(id, known, 'malformed', `nvidia-smi row has ${broken.cells} cells, ${plan.fields.length} expected: ${excerpt(broken.line)}`, observedAt));
    }
    // A GPU read before and missing now has fallen off the bus or errored; nvidia-smi says why on its own line.
    const problems = output.problems;
    const why = problems.length > 0 ? excerpt(problems.join('; ')) : result.code !== 0 ? exitMessage(result) : 'nvidia-smi no longer lists this GPU';
    for (const [id, gpu] of this.#known) {
      if (seen.has(id)) continue;
      this.#energy.interrupt(id);
      // Past the cap, a vanished GPU is forgotten rather than reported (below): the node reports no more than max.
      if (snapshots.length < max) snapshots.push(this.#downGpu(id, gpu, 'exec', why, observedAt));
    }
    this.#forgetBeyond(max, seen);
    return snapshots;
  }

  /** GPUs remembered past the cap, those not seen this poll first: a node printing new UUIDs every poll cannot grow the map. */
  #forgetBeyond(max: number, seen: ReadonlyMap<string, number>): void {
    for (const id of this.#known.keys()) {
      if (this.#known.size <= max) return;
      if (!seen.has(id)) this.#forget(id);
    }
    for (const id of this.#known.keys()) {
      if (this.#known.size <= max) return;
      this.#forget(id);
    }
  }

  #forget(id: string): void {
    this.#known.delete(id);
    this.#energy.forget(id);
  }

  #downGpu(id: string, gpu: KnownGpu, reason: ErrorReason, message: string, at: Date): DeviceSnapshot {
    const snapshot = downSnapshot({ ...this.placeholder(), id }, reason, message, at);
    snapshot.vendor = 'NVIDIA';
    snapshot.dialect = 'nvidia-smi';
    if (gpu.name !== undefined) snapshot.model = gpu.name;
    snapshot.gpu = { ...gpu };
    return snapshot;
  }
}

export function createNvidiaCollector(target: Target, options: NvidiaCollectorOptions = {}): Collector {
  return new NvidiaSmiCollector(target, options);
}

function exitMessage(result: ExecResult): string {
  const status = result.code !== null ? `status ${result.code}` : `signal ${result.signal}`;
  const text = excerpt(result.stderr) || excerpt(result.stdout);
  return `nvidia-smi exited with ${status}${text ? `: ${text}` : ''}`;
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_ERROR_TEXT ? `${flat.slice(0, MAX_ERROR_TEXT)}…` : flat;
}
