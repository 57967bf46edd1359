/**
 * Per-device economics: what each device earns and costs, and what to do with it.
 *
 * Formulas (all per day; W is the device's current draw, p the power price in USD/kWh now):
 *   ASIC mining revenue    = hashprice (USD per TH/s per day, after pool fee) × TH/s
 *   GPU lease revenue      = rate/h × 24 × occupancy × (1 − platform fee)
 *   GPU mining revenue     = the configured mining_revenue_usd_per_day for its model
 *   power cost             = W / 1000 × 24 × p   (the same draw is charged to every activity: conservative
 *                            for a GPU that idles lower between leases)
 *   margin                 = revenue − power cost, per activity; the best activity has the highest margin
 *   break-even USD/kWh     = best revenue ÷ (kW × 24)   (for a GPU this is its value per kWh)
 *   efficiency             = W ÷ TH/s (J/TH); drift = efficiency ÷ nominal J/TH − 1 (0.25 = 25% worse)
 *
 * Recommendation, first rule that applies:
 *   1. replace  — efficiency drift above replace_drift_ratio (only judged on measured power: a nameplate
 *                 or estimated watt figure says nothing about the machine's health)
 *   2. curtail  — every activity's margin is negative at the current price
 *   3. replace  — break-even is below reference_usd_per_kwh: it pays now, but not at the price the site
 *                 plans for
 *   4. mine | lease — the activity with the highest margin
 * A device that is down, not a miner or GPU, or lacks a power or hashrate reading or a needed input
 * gets no recommendation, only a reason.
 */
import { findModel as catalogFindModel, type ModelSpec } from '../catalog.js';
import { efficiencyJPerTh, type DeviceSnapshot, type PowerSource } from '../snapshot.js';
import type { GpuModelEconomics } from '../../config/economics-schema.js';
import { jPerTh, percent, perKwh, usd } from './format.js';
import { hashpriceFrom, type EconomicInputs } from './inputs.js';
import { ACTIVITIES, type Activity, type DeviceAssessment, type InputName } from './types.js';

export interface AssessOptions {
  /** Model catalog lookup; agent/catalog.ts's findModel by default. */
  findModel?: (name: string | undefined) => ModelSpec | undefined;
}

/** Power figures good enough to judge a machine's health by. */
const MEASURED_POWER: ReadonlySet<PowerSource> = new Set(['pdu', 'reported', 'gpu_counter']);

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
  if (snapshot.hashrate_hs !== undefined) a.hashrate_hs = snapshot.hashrate_hs;

  const price = inputs.power_price_usd_per_kwh;
  if (price) {
    a.power_price_usd_per_kwh = price.value;
    if (snapshot.up && a.power_w !== undefined && a.power_w > 0) a.power_cost_usd_per_day = powerCostUsdPerDay(a.power_w, price.value);
  }

  if (snapshot.kind !== 'asic' && snapshot.kind !== 'gpu') return noRecommendation(a, `no economics for a ${snapshot.kind}`);
  if (!snapshot.up) return noRecommendation(a, `down: ${snapshot.error ?? 'no reason given'}`);
  if (a.power_w === undefined) return noRecommendation(a, 'no power reading');
  if (!(a.power_w > 0)) return noRecommendation(a, `power reads ${a.power_w} W`);

  return snapshot.kind === 'asic' ? assessAsic(snapshot, a, inputs, opts) : assessGpu(a, inputs);
}

/** Assesses every snapshot with the same inputs. */
export function assessDevices(snapshots: readonly DeviceSnapshot[], inputs: EconomicInputs, opts: AssessOptions = {}): DeviceAssessment[] {
  return snapshots.map((s) => assessDevice(s, inputs, opts));
}

function assessAsic(snapshot: DeviceSnapshot, a: DeviceAssessment, inputs: EconomicInputs, opts: AssessOptions): DeviceAssessment {
  const powerW = a.power_w!;
  if (a.hashrate_hs === undefined) return noRecommendation(a, 'no hashrate reading');
  if (!(a.hashrate_hs > 0)) return noRecommendation(a, `hashing ${a.hashrate_hs} H/s while drawing ${powerW} W`);

  a.efficiency_j_per_th = efficiencyJPerTh(powerW, a.hashrate_hs)!;
  const spec = (opts.findModel ?? catalogFindModel)(snapshot.model);
  const powerIsMeasured = snapshot.power_source === undefined || MEASURED_POWER.has(snapshot.power_source);
  if (spec) {
    a.nominal_efficiency_j_per_th = spec.nominal_efficiency_j_per_th;
    if (powerIsMeasured) a.efficiency_drift_ratio = a.efficiency_j_per_th / spec.nominal_efficiency_j_per_th - 1;
  }

  const hashprice = hashpriceFrom(inputs);
  if ('missing' in hashprice) return noRecommendation(a, `no hashprice: missing ${hashprice.missing.join(', ')}${missingDetail(inputs)}`);
  a.hashprice_usd_per_th_day = hashprice.usd_per_th_day;
  markStale(a, hashprice.stale_inputs);

  const price = inputs.power_price_usd_per_kwh;
  if (!price) return noRecommendation(a, `no power price${missingDetail(inputs)}`);
  if (price.stale) markStale(a, ['power_price_usd_per_kwh']);

  a.revenue_usd_per_day.mining = hashprice.usd_per_th_day * (a.hashrate_hs / 1e12);
  return decide(a, inputs);
}

function assessGpu(a: DeviceAssessment, inputs: EconomicInputs): DeviceAssessment {
  const economics = findGpuEconomics(inputs.gpu_models, a.model);
  if (!economics) return noRecommendation(a, a.model ? `no gpu_models entry for "${a.model}"` : 'GPU model unknown');
  const price = inputs.power_price_usd_per_kwh;
  if (!price) return noRecommendation(a, `no power price${missingDetail(inputs)}`);
  if (price.stale) markStale(a, ['power_price_usd_per_kwh']);

  a.revenue_usd_per_day.leasing = leaseRevenueUsdPerDay(economics);
  if (economics.mining_revenue_usd_per_day !== undefined) a.revenue_usd_per_day.mining = economics.mining_revenue_usd_per_day;
  return decide(a, inputs);
}

/** Fills margins, break-even and the recommendation from revenues and power cost. */
function decide(a: DeviceAssessment, inputs: EconomicInputs): DeviceAssessment {
  const powerW = a.power_w!;
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

  const earnings = describeEarnings(a, best!);
  const costs = `power costs ${usd(cost)}/day at ${perKwh(price)}`;
  const drift = a.efficiency_drift_ratio;
  if (drift !== undefined && drift > inputs.replace_drift_ratio) {
    a.recommendation = 'replace';
    a.reason =
      `replace: efficiency ${jPerTh(a.efficiency_j_per_th!)} is ${percent(drift)} worse than nominal ${jPerTh(a.nominal_efficiency_j_per_th!)} ` +
      `(limit ${percent(inputs.replace_drift_ratio)}); ${earnings}, ${costs}`;
  } else if (bestMargin < 0) {
    a.recommendation = 'curtail';
    a.reason = `curtail: ${earnings}, ${costs}; break-even ${perKwh(a.break_even_usd_per_kwh)}`;
  } else if (inputs.reference_usd_per_kwh !== undefined && a.break_even_usd_per_kwh < inputs.reference_usd_per_kwh) {
    a.recommendation = 'replace';
    a.reason = `replace: break-even ${perKwh(a.break_even_usd_per_kwh)} is below the reference ${perKwh(inputs.reference_usd_per_kwh)}; ${earnings}, ${costs}`;
  } else {
    a.recommendation = best === 'leasing' ? 'lease' : 'mine';
    a.reason = `${a.recommendation}: ${earnings}, ${costs}; margin ${usd(bestMargin)}/day; break-even ${perKwh(a.break_even_usd_per_kwh)}`;
  }
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
