/**
 * Per-device economics: what each device earns and costs, and what to do with it.
 *
 * Formulas (all per day; W is the device's current draw, p the power price in USD/kWh now):
 *   ASIC mining revenue    = hashprice (USD per TH/s per day, after pool fee) × TH/s
 *   ASIC hashrate lease    = rate per PH/s per day × PH/s × (1 − marketplace fee), when hashrate_lease is set
 *   GPU lease revenue      = rate/h × 24 × occupancy × (1 − platform fee) on spot terms; a committed
 *                            contract's rate/h × 24 while it runs (fixed income, busy or not)
 *   GPU mining revenue     = the configured mining_revenue_usd_per_day for its model
 *   GPU judged W           = max(draw, rated power limit) + (server wall − Σ its GPUs' draw) ÷ GPUs on the
 *                            server; gpu_node_overhead_w instead of wall − Σ GPUs when no outlet meters it
 *   power cost             = W / 1000 × 24 × p, W the judged W for a GPU (the same for every activity)
 *   margin                 = revenue − power cost, per activity; the best activity has the highest margin
 *   break-even USD/kWh     = best revenue ÷ (kW × 24)   (for a GPU this is its value per kWh)
 *   efficiency             = W ÷ TH/s (J/TH), from measured W only; drift = efficiency ÷ nominal J/TH − 1
 *   replacement payback    = (new price − resale of the old) ÷ (new margin − max(current margin, 0)), days;
 *                            the new machine at its catalog TH/s and W, at today's hashprice and p
 *   repair loss            = Σ over dead or degraded boards of (board nominal − board hashrate), H/s
 *
 * Recommendation, first rule that applies:
 *   1. repair   — a hashboard is dead or degraded: fixing it earns the lost hashrate back
 *   2. replace  — the best replacement option pays back within replacement.horizon_days
 *   3. curtail  — every activity's margin is negative at the current price
 *   4. mine | lease — the activity with the highest margin
 * A device that is down, not a miner or GPU, or lacks a power or hashrate reading or a needed input
 * gets no recommendation, only a reason. So does an ASIC that mines anything but SHA-256 (its
 * snapshot's `algorithm`, else its catalog row's, else SHA-256): the hashprice is Bitcoin's, and there
 * is no revenue model for Kadena, Scrypt, Kaspa and the rest. It still draws power: its power cost is
 * reported, and the plan counts it as fixed load under the cap and charges it to the site margin. A device that only measures (PDU, meter, sensor) carries no
 * cost: its watts are the load of the devices behind it. A down device whose outlet still meters draw
 * carries that draw's cost.
 */
import { findModel as catalogFindModel, type ModelSpec } from '../catalog.js';
import { efficiencyJPerTh, HASH_ALGORITHM_NAMES, type DeviceSnapshot, type PowerSource } from '../snapshot.js';
import type { GpuModelEconomics, HashrateLease, ReplacementConfig } from '../../config/economics-schema.js';
import { jPerTh, percent, perKwh, usd } from './format.js';
import { hashpriceFrom, type EconomicInputs } from './inputs.js';
import { ACTIVITIES, type Activity, type DeviceAssessment, type InputName, type ReplacementAppraisal } from './types.js';

export interface AssessOptions {
  /** Model catalog lookup; agent/catalog.ts's findModel by default. */
  findModel?: (name: string | undefined) => ModelSpec | undefined;
  /** GPU servers by node address: their GPUs and, where an outlet meters it, their wall power (see `gpuNodePower`). */
  gpuNodes?: ReadonlyMap<string, GpuNodePower>;
}

/** A GPU server as the economics see it. */
export interface GpuNodePower {
  gpus: number;
  /** The sum of its GPUs' own draw now. */
  gpuW: number;
  /** Its outlet's reading, when one is mapped. */
  wallW?: number;
}

/** GPU servers by node address from the snapshots, with the wall power of the metered ones. */
export function gpuNodePower(snapshots: Iterable<DeviceSnapshot>, wallW: (node: string) => number | undefined): Map<string, GpuNodePower> {
  const nodes = new Map<string, GpuNodePower>();
  for (const s of snapshots) {
    if (s.kind !== 'gpu' || s.address === undefined) continue;
    let node = nodes.get(s.address);
    if (!node) {
      node = { gpus: 0, gpuW: 0 };
      const wall = wallW(s.address);
      if (wall !== undefined) node.wallW = wall;
      nodes.set(s.address, node);
    }
    node.gpus += 1;
    if (s.up && s.power_w !== undefined) node.gpuW += s.power_w;
  }
  return nodes;
}

/** Power figures good enough to judge a machine's health by. */
const MEASURED_POWER: ReadonlySet<PowerSource> = new Set(['pdu', 'reported', 'gpu_counter']);

/** True when a watt figure was measured; a snapshot that does not say is taken as measured. */
export function isMeasuredPower(source: PowerSource | undefined): boolean {
  return source === undefined || MEASURED_POWER.has(source);
}

/** Kinds whose watts are the load of other devices: never costed, never summed as device power. */
export function isMeteringOnly(kind: DeviceSnapshot['kind']): boolean {
  return kind === 'pdu' || kind === 'sensor';
}

/** Matches a snapshot's GPU name against configured model names, ignoring case and spacing. */
export function findGpuEconomics(models: Record<string, GpuModelEconomics>, name: string | undefined): GpuModelEconomics | undefined {
  if (!name) return undefined;
  const key = normalizeGpuName(name);
  for (const [configured, economics] of Object.entries(models)) {
    if (normalizeGpuName(configured) === key) return economics;
  }
  return undefined;
}

function normalizeGpuName(name: string): string {
  return name.toLowerCase().replace(/\s+/g, ' ').trim();
}

export function powerCostUsdPerDay(powerW: number, usdPerKwh: number): number {
  return (powerW / 1000) * 24 * usdPerKwh;
}

export function breakEvenUsdPerKwh(revenueUsdPerDay: number, powerW: number): number {
  return revenueUsdPerDay / ((powerW / 1000) * 24);
}

const DAY_MS = 86_400_000;

/** A committed contract running at `atMs`: its daily income and its last day (exclusive), else undefined. */
export function activeContract(gpu: GpuModelEconomics, atMs: number): { usd_per_day: number; until: string; endMs: number } | undefined {
  const c = gpu.committed;
  if (!c) return undefined;
  const startMs = Date.parse(`${c.start}T00:00:00Z`);
  const endMs = startMs + c.term_days * DAY_MS;
  if (atMs < startMs || atMs >= endMs) return undefined;
  return { usd_per_day: c.rate_usd_per_hour * 24, until: new Date(endMs).toISOString().slice(0, 10), endMs };
}

/** Selling the hashrate: rate per PH/s per day × PH/s × (1 − marketplace fee). */
export function hashrateLeaseUsdPerDay(hashrateHs: number, lease: HashrateLease): number {
  return lease.usd_per_ph_day * (hashrateHs / 1e15) * (1 - lease.fee_ratio);
}

export function leaseRevenueUsdPerDay(gpu: GpuModelEconomics): number {
  return gpu.rate_usd_per_hour * 24 * gpu.occupancy_ratio * (1 - gpu.platform_fee_ratio);
}

/** Judges one device against the inputs; never throws for a device's own state. */
export function assessDevice(snapshot: DeviceSnapshot, inputs: EconomicInputs, opts: AssessOptions = {}): DeviceAssessment {
  const a: DeviceAssessment = {
    device_id: snapshot.id,
    kind: snapshot.kind,
    up: snapshot.up,
    assessed_at: inputs.at,
    revenue_usd_per_day: {},
    margin_usd_per_day: {},
    reason: '',
    stale: false,
    stale_inputs: [],
  };
  const model = snapshot.model ?? snapshot.gpu?.name;
  if (model !== undefined) a.model = model;
  if (snapshot.power_w !== undefined) a.power_w = snapshot.power_w;
  if (snapshot.power_source !== undefined) a.power_source = snapshot.power_source;
  if (snapshot.hashrate_hs !== undefined) a.hashrate_hs = snapshot.hashrate_hs;
  if (isMeteringOnly(snapshot.kind)) {
    a.metering_only = true;
    return noRecommendation(a, `a ${snapshot.kind} only measures: its watts are the load of the devices behind it`);
  }

  const price = inputs.power_price_usd_per_kwh;
  if (price) {
    a.power_price_usd_per_kwh = price.value;
    if (drawsPower(snapshot) && a.power_w! > 0) a.power_cost_usd_per_day = powerCostUsdPerDay(a.power_w!, price.value);
  }

  if (snapshot.kind !== 'asic' && snapshot.kind !== 'gpu') return noRecommendation(a, `no economics for a ${snapshot.kind}`);
  if (!snapshot.up) return noRecommendation(a, `down: ${snapshot.error ?? 'no reason given'}`);
  if (snapshot.kind === 'asic') {
    const algorithm = snapshot.algorithm ?? (opts.findModel ?? catalogFindModel)(snapshot.model)?.algorithm ?? 'sha256';
    if (algorithm !== 'sha256') return noRecommendation(a, `mines ${HASH_ALGORITHM_NAMES[algorithm]}, not SHA-256: no revenue model`);
  }
  if (a.power_w === undefined) return noRecommendation(a, 'no power reading');
  if (!(a.power_w > 0)) return noRecommendation(a, `power reads ${a.power_w} W`);

  return snapshot.kind === 'asic' ? assessAsic(snapshot, a, inputs, opts) : assessGpu(snapshot, a, inputs, opts);
}

/** Up with a watt figure, or down while its outlet still meters draw: either way the site pays for it. */
function drawsPower(snapshot: DeviceSnapshot): boolean {
  return snapshot.power_w !== undefined && (snapshot.up || snapshot.power_source === 'pdu');
}

/** Assesses every snapshot with the same inputs. */
export function assessDevices(snapshots: readonly DeviceSnapshot[], inputs: EconomicInputs, opts: AssessOptions = {}): DeviceAssessment[] {
  return snapshots.map((s) => assessDevice(s, inputs, opts));
}

function assessAsic(snapshot: DeviceSnapshot, a: DeviceAssessment, inputs: EconomicInputs, opts: AssessOptions): DeviceAssessment {
  const powerW = a.power_w!;
  if (a.hashrate_hs === undefined) return noRecommendation(a, 'no hashrate reading');
  if (!(a.hashrate_hs > 0)) return noRecommendation(a, `hashing ${a.hashrate_hs} H/s while drawing ${powerW} W`);

  const findModel = opts.findModel ?? catalogFindModel;
  const spec = findModel(snapshot.model);
  if (isMeasuredPower(snapshot.power_source)) a.efficiency_j_per_th = efficiencyJPerTh(powerW, a.hashrate_hs)!;
  if (spec) {
    a.nominal_efficiency_j_per_th = spec.nominal_efficiency_j_per_th;
    if (a.efficiency_j_per_th !== undefined) a.efficiency_drift_ratio = a.efficiency_j_per_th / spec.nominal_efficiency_j_per_th - 1;
  }
  const loss = boardHashrateLoss(snapshot);
  if (loss !== undefined) a.repair_hashrate_loss_hs = loss;

  const hashprice = hashpriceFrom(inputs);
  if ('missing' in hashprice) return noRecommendation(a, `no hashprice: missing ${hashprice.missing.join(', ')}${missingDetail(inputs)}`);
  a.hashprice_usd_per_th_day = hashprice.usd_per_th_day;
  markStale(a, hashprice.stale_inputs);

  const price = inputs.power_price_usd_per_kwh;
  if (!price) return noRecommendation(a, `no power price${missingDetail(inputs)}`);
  if (price.stale) markStale(a, ['power_price_usd_per_kwh']);

  a.revenue_usd_per_day.mining = hashprice.usd_per_th_day * (a.hashrate_hs / 1e12);
  const lease = inputs.hashrate_lease;
  if (lease) a.revenue_usd_per_day.leasing = hashrateLeaseUsdPerDay(a.hashrate_hs, lease);
  decideMargins(a);
  if (inputs.replacement) {
    const appraisal = appraiseReplacement(a, snapshot.model, inputs, inputs.replacement, hashprice.usd_per_th_day, findModel);
    if (appraisal) a.replacement = appraisal;
  }
  return recommend(a, inputs);
}

/** Hashrate the dead and degraded boards are short of their nominal; undefined when every board is ok. */
function boardHashrateLoss(snapshot: DeviceSnapshot): number | undefined {
  const failing = (snapshot.boards ?? []).filter((b) => b.status !== 'ok');
  if (failing.length === 0) return undefined;
  const boards = snapshot.boards!.length;
  const perBoardNominal = snapshot.nominal_hashrate_hs === undefined ? undefined : snapshot.nominal_hashrate_hs / boards;
  let loss = 0;
  for (const b of failing) {
    const nominal = b.nominal_hashrate_hs ?? perBoardNominal;
    if (nominal !== undefined) loss += Math.max(0, nominal - (b.hashrate_hs ?? 0));
  }
  return loss;
}

/** The option that pays back soonest (or, when none pays back, the one that gains most). */
function appraiseReplacement(
  a: DeviceAssessment,
  oldModel: string | undefined,
  inputs: EconomicInputs,
  replacement: ReplacementConfig,
  hashpriceUsdPerThDay: number,
  findModel: (name: string | undefined) => ModelSpec | undefined,
): ReplacementAppraisal | undefined {
  const oldSpec = findModel(oldModel);
  const resale = (oldSpec && replacement.resale_usd[oldSpec.model]) ?? (oldModel !== undefined ? replacement.resale_usd[oldModel] : undefined) ?? 0;
  const current = Math.max(0, a.margin_usd_per_day[a.best_activity!]!);
  const lease = inputs.hashrate_lease;
  let best: ReplacementAppraisal | undefined;
  for (const option of replacement.options) {
    const spec = findModel(option.model);
    if (!spec || spec.model === oldSpec?.model) continue;
    const revenue = Math.max(hashpriceUsdPerThDay * (spec.nominal_hashrate_hs / 1e12), lease ? hashrateLeaseUsdPerDay(spec.nominal_hashrate_hs, lease) : 0);
    const margin = revenue - powerCostUsdPerDay(spec.nominal_power_w, a.power_price_usd_per_kwh!);
    const appraisal: ReplacementAppraisal = { model: spec.model, net_price_usd: option.price_usd - resale, margin_gain_usd_per_day: margin - current };
    if (appraisal.margin_gain_usd_per_day > 0) appraisal.payback_days = Math.max(0, appraisal.net_price_usd) / appraisal.margin_gain_usd_per_day;
    if (!best || paysBackSooner(appraisal, best)) best = appraisal;
  }
  return best;
}

function paysBackSooner(x: ReplacementAppraisal, y: ReplacementAppraisal): boolean {
  if (x.payback_days !== undefined && y.payback_days !== undefined) return x.payback_days < y.payback_days;
  if (x.payback_days !== undefined || y.payback_days !== undefined) return x.payback_days !== undefined;
  return x.margin_gain_usd_per_day > y.margin_gain_usd_per_day;
}

/**
 * A GPU is judged on whole-server power: its rated draw (what it draws leased; an idle GPU's 70 W says
 * nothing about that) plus its share of what the server draws beyond its GPUs (wall − Σ GPUs where an
 * outlet meters the node, else gpu_node_overhead_w), so the server's CPUs, fans and PSU losses are paid for.
 */
function judgeGpuPower(snapshot: DeviceSnapshot, a: DeviceAssessment, inputs: EconomicInputs, opts: AssessOptions): void {
  const drawW = a.power_w!;
  const ratedW = snapshot.gpu?.power_limit_w ?? snapshot.power_limit_w;
  const gpuW = Math.max(drawW, ratedW ?? drawW);
  const node = snapshot.address === undefined ? undefined : opts.gpuNodes?.get(snapshot.address);
  const gpus = Math.max(1, node?.gpus ?? 1);
  const metered = node?.wallW !== undefined;
  const overheadW = metered ? Math.max(0, node.wallW! - node.gpuW) : inputs.gpu_node_overhead_w;
  const shareW = overheadW / gpus;
  a.judged_power_w = gpuW + shareW;
  const gpuPart = ratedW !== undefined && ratedW > drawW ? `rated ${fmtW(ratedW)} (drawing ${fmtW(drawW)} now)` : `drawing ${fmtW(drawW)}`;
  const overheadPart = metered
    ? `${fmtW(shareW)} of its server's overhead (wall ${fmtW(node.wallW!)} − GPUs ${fmtW(node.gpuW)}, ÷ ${gpus})`
    : `${fmtW(shareW)} of gpu_node_overhead_w ${fmtW(overheadW)} ÷ ${gpus}`;
  a.judged_power_basis = `${gpuPart} + ${overheadPart}`;
}

function fmtW(watts: number): string {
  return `${Math.round(watts)} W`;
}

function assessGpu(snapshot: DeviceSnapshot, a: DeviceAssessment, inputs: EconomicInputs, opts: AssessOptions): DeviceAssessment {
  judgeGpuPower(snapshot, a, inputs, opts);
  const economics = findGpuEconomics(inputs.gpu_models, a.model);
  if (!economics) return noRecommendation(a, a.model ? `no gpu_models entry for "${a.model}"` : 'GPU model unknown');
  const price = inputs.power_price_usd_per_kwh;
  if (!price) return noRecommendation(a, `no power price${missingDetail(inputs)}`);
  if (price.stale) markStale(a, ['power_price_usd_per_kwh']);

  const contract = activeContract(economics, Date.parse(inputs.at));
  a.revenue_usd_per_day.leasing = contract ? contract.usd_per_day : leaseRevenueUsdPerDay(economics);
  if (contract) a.lease_committed_until = contract.until;
  if (economics.mining_revenue_usd_per_day !== undefined) a.revenue_usd_per_day.mining = economics.mining_revenue_usd_per_day;
  decideMargins(a);
  return recommend(a, inputs);
}

/** Fills power cost, margins, the best activity and break-even from revenues. */
function decideMargins(a: DeviceAssessment): void {
  const powerW = a.judged_power_w ?? a.power_w!;
  const price = a.power_price_usd_per_kwh!;
  const cost = powerCostUsdPerDay(powerW, price);
  a.power_cost_usd_per_day = cost;

  let best: Activity | undefined;
  for (const activity of ACTIVITIES) {
    const revenue = a.revenue_usd_per_day[activity];
    if (revenue === undefined) continue;
    a.margin_usd_per_day[activity] = revenue - cost;
    if (best === undefined || revenue - cost > a.margin_usd_per_day[best]!) best = activity;
  }
  a.best_activity = best!;
  const bestRevenue = a.revenue_usd_per_day[best!]!;
  const bestMargin = a.margin_usd_per_day[best!]!;
  a.margin_usd_per_watt_day = bestMargin / powerW;
  a.break_even_usd_per_kwh = breakEvenUsdPerKwh(bestRevenue, powerW);
}

/** The recommendation and its reason, by the rules in the header. */
function recommend(a: DeviceAssessment, inputs: EconomicInputs): DeviceAssessment {
  const best = a.best_activity!;
  const bestMargin = a.margin_usd_per_day[best]!;
  const earnings = describeEarnings(a, best);
  const costs = `power costs ${usd(a.power_cost_usd_per_day!)}/day at ${perKwh(a.power_price_usd_per_kwh!)}`;
  const drift = a.efficiency_drift_ratio;
  const driftNote =
    drift !== undefined && drift > inputs.replace_drift_ratio
      ? `; efficiency ${jPerTh(a.efficiency_j_per_th!)} is ${percent(drift)} worse than nominal ${jPerTh(a.nominal_efficiency_j_per_th!)}`
      : '';
  const replacement = a.replacement;
  const horizon = inputs.replacement?.horizon_days;
  if (a.repair_hashrate_loss_hs !== undefined) {
    a.recommendation = 'repair';
    const lostUsd = (a.hashprice_usd_per_th_day ?? 0) * (a.repair_hashrate_loss_hs / 1e12);
    a.reason = `repair: failing hashboards cost ${(a.repair_hashrate_loss_hs / 1e12).toFixed(1)} TH/s (${usd(lostUsd)}/day); ${earnings}, ${costs}`;
  } else if (replacement?.payback_days !== undefined && horizon !== undefined && replacement.payback_days <= horizon) {
    a.recommendation = 'replace';
    a.reason =
      `replace: a ${replacement.model} for ${usd(replacement.net_price_usd)} net pays back in ${Math.round(replacement.payback_days)} days ` +
      `(+${usd(replacement.margin_gain_usd_per_day)}/day; horizon ${horizon} days); ${earnings}, ${costs}${driftNote}`;
  } else if (bestMargin < 0) {
    a.recommendation = 'curtail';
    a.reason = `curtail: ${earnings}, ${costs}; break-even ${perKwh(a.break_even_usd_per_kwh!)}${driftNote}`;
  } else {
    a.recommendation = best === 'leasing' ? 'lease' : 'mine';
    a.reason = `${a.recommendation}: ${earnings}, ${costs}; margin ${usd(bestMargin)}/day; break-even ${perKwh(a.break_even_usd_per_kwh!)}${driftNote}`;
  }
  if (a.lease_committed_until !== undefined) a.reason += ` [leasing committed until ${a.lease_committed_until}]`;
  if (a.judged_power_w !== undefined && a.judged_power_w !== a.power_w) a.reason += ` [judged on ${Math.round(a.judged_power_w)} W: ${a.judged_power_basis}]`;
  if (!isMeasuredPower(a.power_source)) a.reason += ` [power ${a.power_source}, not measured]`;
  if (a.stale) a.reason += ` [stale: ${a.stale_inputs.join(', ')}]`;
  return a;
}

/** "mining earns $4.12/day", or with two activities "leasing earns $40.80/day vs mining $3.00/day". */
function describeEarnings(a: DeviceAssessment, best: Activity): string {
  const others = ACTIVITIES.filter((x) => x !== best && a.revenue_usd_per_day[x] !== undefined);
  const rest = others.map((x) => ` vs ${x} ${usd(a.revenue_usd_per_day[x]!)}/day`).join('');
  return `${best} earns ${usd(a.revenue_usd_per_day[best]!)}/day${rest}`;
}

function noRecommendation(a: DeviceAssessment, reason: string): DeviceAssessment {
  a.reason = reason;
  return a;
}

function markStale(a: DeviceAssessment, names: readonly InputName[]): void {
  for (const n of names) if (!a.stale_inputs.includes(n)) a.stale_inputs.push(n);
  a.stale = a.stale_inputs.length > 0;
}

function missingDetail(inputs: EconomicInputs): string {
  return inputs.missing.length > 0 ? ` (${inputs.missing.join('; ')})` : '';
}
