/**
 * Per-device economics and the site plan.
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
 *
 * Site plan under a power cap (planSite):
 *   - devices recommended mine / lease run that activity; replace runs its best activity while its
 *     margin is not negative; curtail is off; devices without a recommendation are "unassessed" and their
 *     draw (when up) is load the plan cannot move, so it comes off the cap first.
 *   - running devices are ranked by margin per watt (best margin ÷ W), highest first, and kept while their
 *     summed draw fits the remaining cap; the first that does not fit and every one after it is curtailed.
 *     So every device curtailed for the cap ranks below every device kept (least efficient first), and
 *     unused headroom is less than the draw of the next device in the ranking.
 *   - one more MW, mining  = hashprice × (10^6 W ÷ median J/TH of the assessed ASICs) − 1,000 kW × 24 × p
 *     one more MW, leasing = 10^6 W × median over assessed GPUs of (lease revenue ÷ W) − 1,000 kW × 24 × p
 *     i.e. a megawatt more of the fleet's median machine, at today's prices.
 */
import { findModel as catalogFindModel, type ModelSpec } from '../catalog.js';
import { efficiencyJPerTh, type DeviceKind, type DeviceSnapshot, type PowerSource } from '../snapshot.js';
import { hashpriceFrom, type EconomicInputs, type InputName } from './inputs.js';
import type { GpuModelEconomics } from '../../config/economics-schema.js';

export type Recommendation = 'mine' | 'lease' | 'curtail' | 'replace';
export const RECOMMENDATIONS: readonly Recommendation[] = ['mine', 'lease', 'curtail', 'replace'];
export type Activity = 'mining' | 'leasing';
export const ACTIVITIES: readonly Activity[] = ['mining', 'leasing'];

export interface DeviceAssessment {
  device_id: string;
  kind: DeviceKind;
  model?: string;
  up: boolean;
  /** ISO 8601: the instant of the inputs used. */
  assessed_at: string;
  power_w?: number;
  hashrate_hs?: number;
  efficiency_j_per_th?: number;
  nominal_efficiency_j_per_th?: number;
  /** efficiency ÷ nominal − 1: 0.25 is 25% worse than nominal, negative is better. */
  efficiency_drift_ratio?: number;
  hashprice_usd_per_th_day?: number;
  power_price_usd_per_kwh?: number;
  /** Revenue per activity the device can do. */
  revenue_usd_per_day: Partial<Record<Activity, number>>;
  power_cost_usd_per_day?: number;
  /** Revenue − power cost, per activity. */
  margin_usd_per_day: Partial<Record<Activity, number>>;
  /** The activity with the highest margin. */
  best_activity?: Activity;
  /** The best margin ÷ W: what the site plan ranks by. */
  margin_usd_per_watt_day?: number;
  /** The power price at which the best activity's margin is zero. */
  break_even_usd_per_kwh?: number;
  /** Absent when the device cannot be judged; `reason` says why. */
  recommendation?: Recommendation;
  /** One line that quotes the numbers behind the recommendation, or why there is none. */
  reason: string;
  /** True when any input used is past its staleness limit. */
  stale: boolean;
  stale_inputs: InputName[];
}

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
  const cost = (a.power_cost_usd_per_day = powerCostUsdPerDay(powerW, price));

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

export function usd(x: number): string {
  return `${x < 0 ? '-' : ''}$${Math.abs(x).toFixed(2)}`;
}

export function perKwh(x: number): string {
  return `${x < 0 ? '-' : ''}$${Math.abs(x).toFixed(3)}/kWh`;
}

function jPerTh(x: number): string {
  return `${x.toFixed(1)} J/TH`;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

// ---------------------------------------------------------------- site plan

export type PlannedActivity = Activity | 'curtailed' | 'unassessed';
export const PLANNED_ACTIVITIES: readonly PlannedActivity[] = ['mining', 'leasing', 'curtailed', 'unassessed'];

export interface PlannedDevice {
  device_id: string;
  activity: PlannedActivity;
  /** The device's draw when running (for curtailed devices: what it would draw). */
  power_kw: number;
  /** Best margin when running; what a curtailed device would net. */
  margin_usd_per_day?: number;
  margin_usd_per_watt_day?: number;
  /** True when the device would run but the cap has no room for it. */
  curtailed_by_cap: boolean;
  reason: string;
}

/**
 * Per planned activity. For `curtailed`: what those devices would draw, earn, cost and net if they ran.
 * For `unassessed`: their draw and power cost where known (revenue unknown, so margin = −cost).
 */
export interface ActivityTotals {
  count: number;
  power_kw: number;
  revenue_usd_per_day: number;
  power_cost_usd_per_day: number;
  margin_usd_per_day: number;
}

export interface MarginalMegawatt {
  /** How the megawatt is built, e.g. "1 MW of ASICs at the median 17.5 J/TH of 120 assessed". */
  basis: string;
  revenue_usd_per_day: number;
  power_cost_usd_per_day: number;
  margin_usd_per_day: number;
}

export interface SitePlan {
  cap_kw?: number;
  /** Draw of everything planned to run plus the unassessed devices that are up. */
  planned_kw: number;
  /** cap − planned, when there is a cap; negative when the load the plan cannot move alone exceeds it. */
  headroom_kw?: number;
  devices: PlannedDevice[];
  totals: Record<PlannedActivity, ActivityTotals>;
  /** What one more MW would earn per day mining or leasing, at the fleet's median machine. */
  one_more_mw: { mining?: MarginalMegawatt; leasing?: MarginalMegawatt; better?: Activity };
  /** True when any assessment behind the plan used a stale input. */
  stale: boolean;
}

function emptyTotals(): ActivityTotals {
  return { count: 0, power_kw: 0, revenue_usd_per_day: 0, power_cost_usd_per_day: 0, margin_usd_per_day: 0 };
}

/** Which activity a device runs before the cap is applied; undefined means it is off. */
function intendedActivity(a: DeviceAssessment): Activity | undefined {
  switch (a.recommendation) {
    case 'mine':
      return 'mining';
    case 'lease':
      return 'leasing';
    case 'replace':
      return a.best_activity !== undefined && (a.margin_usd_per_day[a.best_activity] ?? -1) >= 0 ? a.best_activity : undefined;
    default:
      return undefined;
  }
}

/** Plans which devices run under an optional site power cap, with totals and the value of one more MW. */
export function planSite(assessments: readonly DeviceAssessment[], capKw?: number): SitePlan {
  const devices: PlannedDevice[] = [];
  const candidates: { a: DeviceAssessment; activity: Activity }[] = [];
  let unassessedKw = 0;

  for (const a of assessments) {
    const kw = (a.power_w ?? 0) / 1000;
    if (a.recommendation === undefined) {
      // A PDU's or meter's watts are the load of the devices behind it, already counted on them.
      const drawing = a.up && a.power_w !== undefined && a.kind !== 'pdu' && a.kind !== 'sensor';
      if (drawing) unassessedKw += kw;
      devices.push({ device_id: a.device_id, activity: 'unassessed', power_kw: drawing ? kw : 0, curtailed_by_cap: false, reason: a.reason });
      continue;
    }
    const activity = intendedActivity(a);
    if (activity) candidates.push({ a, activity });
    else devices.push(planned(a, 'curtailed', false, a.reason));
  }

  candidates.sort(
    (x, y) =>
      y.a.margin_usd_per_watt_day! - x.a.margin_usd_per_watt_day! ||
      bestMargin(y.a) - bestMargin(x.a) ||
      (x.a.device_id < y.a.device_id ? -1 : x.a.device_id > y.a.device_id ? 1 : 0),
  );
  let runningKw = unassessedKw;
  let capReached = false;
  for (const { a, activity } of candidates) {
    const kw = a.power_w! / 1000;
    if (capKw !== undefined && !capReached && runningKw + kw > capKw + 1e-9) capReached = true;
    if (capReached) {
      devices.push(
        planned(a, 'curtailed', true, `curtail: site cap ${capKw} kW reached; ${activity} nets ${usd(bestMargin(a))}/day over ${kw.toFixed(2)} kW (${usd(a.margin_usd_per_watt_day! * 1000)}/kW/day), below the devices kept`),
      );
    } else {
      runningKw += kw;
      devices.push(planned(a, activity, false, a.reason));
    }
  }

  const totals = Object.fromEntries(PLANNED_ACTIVITIES.map((k) => [k, emptyTotals()])) as Record<PlannedActivity, ActivityTotals>;
  const byId = new Map(assessments.map((a) => [a.device_id, a]));
  for (const d of devices) {
    const t = totals[d.activity];
    const a = byId.get(d.device_id)!;
    t.count += 1;
    t.power_kw += d.power_kw;
    if (d.activity === 'unassessed') {
      t.power_cost_usd_per_day += a.power_cost_usd_per_day ?? 0;
      t.margin_usd_per_day -= a.power_cost_usd_per_day ?? 0;
    } else if (a.best_activity !== undefined) {
      const activity = d.activity === 'curtailed' ? a.best_activity : d.activity;
      t.revenue_usd_per_day += a.revenue_usd_per_day[activity] ?? 0;
      t.power_cost_usd_per_day += a.power_cost_usd_per_day ?? 0;
      t.margin_usd_per_day += a.margin_usd_per_day[activity] ?? 0;
    }
  }

  const plan: SitePlan = {
    planned_kw: runningKw,
    devices,
    totals,
    one_more_mw: oneMoreMegawatt(assessments),
    stale: assessments.some((a) => a.stale),
  };
  if (capKw !== undefined) {
    plan.cap_kw = capKw;
    plan.headroom_kw = capKw - runningKw;
  }
  return plan;
}

function bestMargin(a: DeviceAssessment): number {
  return a.best_activity === undefined ? 0 : (a.margin_usd_per_day[a.best_activity] ?? 0);
}

function planned(a: DeviceAssessment, activity: PlannedActivity, byCap: boolean, reason: string): PlannedDevice {
  const d: PlannedDevice = { device_id: a.device_id, activity, power_kw: (a.power_w ?? 0) / 1000, curtailed_by_cap: byCap, reason };
  if (a.best_activity !== undefined) d.margin_usd_per_day = bestMargin(a);
  if (a.margin_usd_per_watt_day !== undefined) d.margin_usd_per_watt_day = a.margin_usd_per_watt_day;
  return d;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function oneMoreMegawatt(assessments: readonly DeviceAssessment[]): SitePlan['one_more_mw'] {
  const result: SitePlan['one_more_mw'] = {};
  const priced = assessments.find((a) => a.power_price_usd_per_kwh !== undefined && a.best_activity !== undefined);
  if (!priced) return result;
  const costPerMw = powerCostUsdPerDay(1e6, priced.power_price_usd_per_kwh!);

  const miners = assessments.filter((a) => a.kind === 'asic' && a.revenue_usd_per_day.mining !== undefined && a.efficiency_j_per_th !== undefined);
  const medianJPerTh = median(miners.map((a) => a.efficiency_j_per_th!));
  if (medianJPerTh !== undefined) {
    const revenue = miners[0]!.hashprice_usd_per_th_day! * (1e6 / medianJPerTh);
    result.mining = {
      basis: `1 MW of ASICs at the median ${medianJPerTh.toFixed(1)} J/TH of ${miners.length} assessed (${(1e6 / medianJPerTh / 1000).toFixed(1)} PH/s)`,
      revenue_usd_per_day: revenue,
      power_cost_usd_per_day: costPerMw,
      margin_usd_per_day: revenue - costPerMw,
    };
  }

  const gpus = assessments.filter((a) => a.kind === 'gpu' && a.revenue_usd_per_day.leasing !== undefined && a.power_w !== undefined);
  const medianLeasePerW = median(gpus.map((a) => a.revenue_usd_per_day.leasing! / a.power_w!));
  if (medianLeasePerW !== undefined) {
    const medianW = median(gpus.map((a) => a.power_w!))!;
    const revenue = medianLeasePerW * 1e6;
    result.leasing = {
      basis: `1 MW of GPUs at the median lease value per watt of ${gpus.length} assessed (median ${Math.round(medianW)} W per GPU, ~${Math.round(1e6 / medianW)} GPUs)`,
      revenue_usd_per_day: revenue,
      power_cost_usd_per_day: costPerMw,
      margin_usd_per_day: revenue - costPerMw,
    };
  }
  if (result.mining && result.leasing) result.better = result.leasing.margin_usd_per_day > result.mining.margin_usd_per_day ? 'leasing' : 'mining';
  else if (result.mining) result.better = 'mining';
  else if (result.leasing) result.better = 'leasing';
  return result;
}
