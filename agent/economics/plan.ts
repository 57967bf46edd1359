/**
 * The site plan under a power cap (p is the power price in USD/kWh now, as in assess.ts):
 *   - fixed load: devices without a recommendation ("unassessed") that draw power, a down device whose
 *     outlet still meters draw included; it comes off the cap first and is charged to the site margin.
 *     Devices that only measure (PDUs, meters, sensors) are not in the plan: their watts are others' load.
 *   - candidates: devices whose best margin is not negative (any recommendation but curtail), each
 *     worth its best margin and weighing its draw.
 *   - under a cap, the plan runs the subset of candidates with the highest total margin that fits the
 *     cap minus the fixed load (a 0/1 knapsack): candidates are ranked by margin per watt; the ones
 *     ranked well before the first that does not fit are kept, well after it left out, and a core of
 *     CORE_ITEMS around it is solved exactly by dynamic programming over watts rounded up to a
 *     resolution (so the subset always fits); a greedy fill is the fallback if it does better.
 *     `optimality` reports the LP relaxation's margin (the fractional fill in that ranking), an upper
 *     bound on any subset that fits, and the gap to it.
 *   - hysteresis (economics.plan): a running device stays a candidate while its margin is above
 *     −deadband and starts again only above +deadband; a device started less than min_run ago is kept
 *     before any other while the cap allows; one stopped less than min_off ago stays off; a device
 *     already running counts deadband more in the knapsack, so a swap must gain more than that.
 *   - one more MW, mining  = hashprice × (10^6 W ÷ median J/TH) − 1,000 kW × 24 × p, the median over
 *     ASICs the plan keeps mining whose watts are measured
 *     one more MW, leasing = 10^6 W × median over assessed GPUs of (lease revenue ÷ judged W) − 1,000 kW × 24 × p,
 *     judged W being a GPU's rated draw plus its share of its server's overhead (assess.ts)
 */
import type { PlanHysteresis } from '../../config/economics-schema.js';
import { powerCostUsdPerDay } from './assess.js';
import { usd } from './format.js';
import {
  PLANNED_ACTIVITIES,
  type Activity,
  type ActivityTotals,
  type DeviceAssessment,
  type PlanChange,
  type PlannedActivity,
  type PlannedDevice,
  type SitePlan,
} from './types.js';

/** Candidates around the first that does not fit that are solved exactly. */
const CORE_ITEMS = 160;
/** Most dynamic-programming cells (items × capacity steps) one plan may use. */
const MAX_CELLS = 2_000_000;

/** What the plan remembers of a device between rounds, for hysteresis. */
export interface PlanMemory {
  activity: PlannedActivity;
  /** When the device last went from off to running or back; −Infinity while it has not since it was first planned. */
  since_ms: number;
}

export interface PlanOptions {
  hysteresis?: PlanHysteresis;
  /** The previous round's memory, from `rememberPlan`. */
  previous?: ReadonlyMap<string, PlanMemory>;
  nowMs?: number;
}

function emptyTotals(): ActivityTotals {
  return { count: 0, power_kw: 0, revenue_usd_per_day: 0, power_cost_usd_per_day: 0, margin_usd_per_day: 0 };
}

function isRunning(activity: PlannedActivity | undefined): boolean {
  return activity === 'mining' || activity === 'leasing';
}

interface Candidate {
  a: DeviceAssessment;
  activity: Activity;
  kw: number;
  margin: number;
  /** Worth in the knapsack: margin, plus the deadband when already running, plus more than every margin when min_run holds it. */
  worth: number;
  held: string | undefined;
}

/** Plans which devices run under an optional site power cap, with totals and the value of one more MW. */
export function planSite(assessments: readonly DeviceAssessment[], capKw?: number, options: PlanOptions = {}): SitePlan {
  const nowMs = options.nowMs ?? Date.now();
  const deadband = options.hysteresis?.deadband_usd_per_day ?? 0;
  const minRunMs = options.hysteresis?.min_run ?? 0;
  const minOffMs = options.hysteresis?.min_off ?? 0;
  const previous = options.previous;
  const devices: PlannedDevice[] = [];
  const candidates: Candidate[] = [];
  let fixedKw = 0;
  const lockBonus = 1 + assessments.reduce((sum, a) => sum + Math.abs(bestMargin(a)) + deadband, 0);

  for (const a of assessments) {
    if (a.metering_only) continue;
    if (a.recommendation === undefined) {
      const drawing = a.power_cost_usd_per_day !== undefined;
      const kw = drawing ? a.power_w! / 1000 : 0;
      fixedKw += kw;
      devices.push({ device_id: a.device_id, activity: 'unassessed', power_kw: kw, curtailed_by_cap: false, reason: a.reason });
      continue;
    }
    const margin = bestMargin(a);
    const before = previous?.get(a.device_id);
    const wasRunning = before !== undefined && isRunning(before.activity);
    const heldForMs = before === undefined ? Infinity : nowMs - before.since_ms;
    if (before !== undefined && !wasRunning && heldForMs < minOffMs) {
      devices.push({ ...planned(a, 'curtailed', false, `held off: stopped ${seconds(heldForMs)} ago, min_off ${seconds(minOffMs)}; ${a.reason}`), held: true });
      continue;
    }
    const threshold = before === undefined ? 0 : wasRunning ? -deadband : deadband;
    const runs = wasRunning ? margin >= threshold : margin > threshold || (threshold === 0 && margin === 0);
    if (!runs) {
      const held = margin >= 0 && before !== undefined;
      const reason = held ? `held off: margin ${usd(margin)}/day is within the deadband ${usd(deadband)}; ${a.reason}` : a.reason;
      devices.push({ ...planned(a, 'curtailed', false, reason), ...(held && { held: true }) });
      continue;
    }
    const locked = wasRunning && heldForMs < minRunMs;
    const held = locked
      ? `held running: started ${seconds(heldForMs)} ago, min_run ${seconds(minRunMs)}`
      : margin < 0
        ? `held running: margin ${usd(margin)}/day is within the deadband ${usd(deadband)}`
        : undefined;
    candidates.push({
      a,
      activity: a.best_activity!,
      kw: judgedW(a) / 1000,
      margin,
      worth: margin + (wasRunning ? deadband : 0) + (locked ? lockBonus : 0),
      held,
    });
  }

  const budgetKw = capKw === undefined ? Infinity : capKw - fixedKw;
  const taken = chooseUnderCap(
    candidates.map((c) => ({ kw: c.kw, worth: c.worth })),
    budgetKw,
  );
  let runningKw = fixedKw;
  candidates.forEach((c, i) => {
    if (taken[i]) {
      runningKw += c.kw;
      devices.push({ ...planned(c.a, c.activity, false, c.held ? `${c.held}; ${c.a.reason}` : c.a.reason), ...(c.held && { held: true }) });
    } else {
      devices.push(
        planned(
          c.a,
          'curtailed',
          true,
          `curtail: site cap ${capKw} kW; the best subset under it leaves out ${c.activity} netting ${usd(c.margin)}/day over ${c.kw.toFixed(2)} kW (${usd(c.margin / c.kw || 0)}/kW/day)`,
        ),
      );
    }
  });

  const totals = Object.fromEntries(PLANNED_ACTIVITIES.map((k) => [k, emptyTotals()])) as Record<PlannedActivity, ActivityTotals>;
  const byId = new Map(assessments.map((a) => [a.device_id, a]));
  let achieved = 0;
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
      if (isRunning(d.activity)) achieved += a.margin_usd_per_day[activity] ?? 0;
    }
  }

  const plan: SitePlan = {
    planned_kw: runningKw,
    devices,
    totals,
    one_more_mw: oneMoreMegawatt(assessments, devices),
    stale: assessments.some((a) => a.stale),
    changes: changesSince(devices, previous),
  };
  if (capKw !== undefined) {
    plan.cap_kw = capKw;
    plan.headroom_kw = capKw - runningKw;
    const paying = assessments.filter((a) => !a.metering_only && a.recommendation !== undefined && bestMargin(a) > 0);
    const bound = fractionalBound(
      paying.map((a) => ({ kw: judgedW(a) / 1000, worth: bestMargin(a) })),
      budgetKw,
    );
    plan.optimality = { margin_usd_per_day: achieved, upper_bound_usd_per_day: bound, gap_usd_per_day: Math.max(0, bound - achieved) };
  }
  return plan;
}

/** The memory the next round's hysteresis needs: each device's activity and since when it has been running or off. */
export function rememberPlan(plan: SitePlan, previous: ReadonlyMap<string, PlanMemory> | undefined, nowMs: number): Map<string, PlanMemory> {
  const memory = new Map<string, PlanMemory>();
  for (const d of plan.devices) {
    if (d.activity === 'unassessed') continue;
    const before = previous?.get(d.device_id);
    // A device's first plan is no start or stop: only a change from running to off or back starts a clock.
    const since = before === undefined ? Number.NEGATIVE_INFINITY : isRunning(before.activity) === isRunning(d.activity) ? before.since_ms : nowMs;
    memory.set(d.device_id, { activity: d.activity, since_ms: since });
  }
  return memory;
}

function changesSince(devices: readonly PlannedDevice[], previous: ReadonlyMap<string, PlanMemory> | undefined): PlanChange[] {
  if (!previous) return [];
  const changes: PlanChange[] = [];
  for (const d of devices) {
    const before = previous.get(d.device_id);
    if (before !== undefined && before.activity !== d.activity) changes.push({ device_id: d.device_id, from: before.activity, to: d.activity, reason: d.reason });
  }
  return changes;
}

interface Item {
  kw: number;
  worth: number;
}

/** Indices by worth per kW, highest first; ties by worth, then by index for a stable plan. */
function byDensity(items: readonly Item[]): number[] {
  const order = items.map((_, i) => i);
  const density = items.map((x) => (x.kw > 0 ? x.worth / x.kw : Infinity));
  order.sort((x, y) => density[y]! - density[x]! || items[y]!.worth - items[x]!.worth || x - y);
  return order;
}

/** The LP relaxation of the knapsack: fill by density, the first item that does not fit taken in part. */
export function fractionalBound(items: readonly Item[], budgetKw: number): number {
  let left = budgetKw;
  let bound = 0;
  for (const i of byDensity(items)) {
    const { kw, worth } = items[i]!;
    if (worth <= 0) break;
    if (kw <= left) {
      left -= kw;
      bound += worth;
    } else {
      bound += (worth * Math.max(0, left)) / kw;
      break;
    }
  }
  return bound;
}

/**
 * The 0/1 knapsack: which items to take so their kW fit the budget with the most total worth.
 * Exact up to the watt resolution for the core around the break item; see the header of this file.
 */
export function chooseUnderCap(items: readonly Item[], budgetKw: number): boolean[] {
  const taken = items.map(() => false);
  const order = byDensity(items);
  if (budgetKw === Infinity) {
    for (const i of order) taken[i] = true;
    return taken;
  }
  let breakAt = 0;
  let used = 0;
  while (breakAt < order.length && used + items[order[breakAt]!]!.kw <= budgetKw + 1e-9) used += items[order[breakAt++]!]!.kw;
  if (breakAt === order.length) {
    for (const i of order) taken[i] = true;
    return taken;
  }
  const lo = Math.max(0, breakAt - CORE_ITEMS / 2);
  const hi = Math.min(order.length, lo + CORE_ITEMS);
  let fixedKw = 0;
  for (let k = 0; k < lo; k++) fixedKw += items[order[k]!]!.kw;
  const core = order.slice(lo, hi);
  const coreChoice = knapsackCore(core, items, budgetKw - fixedKw);

  const fromCore = order.map(() => false);
  for (let k = 0; k < lo; k++) fromCore[k] = true;
  let coreUsed = fixedKw;
  core.forEach((_, j) => {
    if (coreChoice[j]) {
      fromCore[lo + j] = true;
      coreUsed += items[core[j]!]!.kw;
    }
  });
  for (let k = hi; k < order.length; k++) {
    if (coreUsed + items[order[k]!]!.kw <= budgetKw + 1e-9) {
      fromCore[k] = true;
      coreUsed += items[order[k]!]!.kw;
    }
  }
  const greedy = greedyFill(order, items, budgetKw);
  const pick = worthOf(fromCore, order, items) >= worthOf(greedy, order, items) ? fromCore : greedy;
  pick.forEach((on, k) => {
    if (on) taken[order[k]!] = true;
  });
  return taken;
}

function greedyFill(order: readonly number[], items: readonly Item[], budgetKw: number): boolean[] {
  let used = 0;
  return order.map((i) => {
    const kw = items[i]!.kw;
    if (used + kw > budgetKw + 1e-9) return false;
    used += kw;
    return true;
  });
}

function worthOf(chosen: readonly boolean[], order: readonly number[], items: readonly Item[]): number {
  let sum = 0;
  chosen.forEach((on, k) => {
    if (on) sum += items[order[k]!]!.worth;
  });
  return sum;
}

/** Exact 0/1 knapsack over the core by dynamic programming on watts rounded up to a resolution. */
function knapsackCore(core: readonly number[], items: readonly Item[], budgetKw: number): boolean[] {
  const chosen = core.map(() => false);
  if (core.length === 0 || budgetKw <= 0) return chosen;
  const budgetW = budgetKw * 1000;
  const resolutionW = Math.max(1, Math.ceil(budgetW / Math.max(1, Math.floor(MAX_CELLS / core.length))));
  const capacity = Math.floor(budgetW / resolutionW + 1e-9);
  const weights = core.map((i) => Math.ceil((items[i]!.kw * 1000) / resolutionW - 1e-9));
  const best = new Float64Array(capacity + 1);
  const keep = new Uint8Array(core.length * (capacity + 1));
  core.forEach((i, j) => {
    const w = weights[j]!;
    const worth = items[i]!.worth;
    const row = j * (capacity + 1);
    for (let c = capacity; c >= w; c--) {
      const withIt = best[c - w]! + worth;
      if (withIt > best[c]!) {
        best[c] = withIt;
        keep[row + c] = 1;
      }
    }
  });
  let c = capacity;
  for (let j = core.length - 1; j >= 0; j--) {
    if (keep[j * (capacity + 1) + c]) {
      chosen[j] = true;
      c -= weights[j]!;
    }
  }
  return chosen;
}

/** The watts a device is planned by: a GPU's judged whole-server share, else its draw. */
function judgedW(a: DeviceAssessment): number {
  return a.judged_power_w ?? a.power_w!;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

function bestMargin(a: DeviceAssessment): number {
  return a.best_activity === undefined ? 0 : (a.margin_usd_per_day[a.best_activity] ?? 0);
}

function planned(a: DeviceAssessment, activity: PlannedActivity, byCap: boolean, reason: string): PlannedDevice {
  const d: PlannedDevice = { device_id: a.device_id, activity, power_kw: (a.judged_power_w ?? a.power_w ?? 0) / 1000, curtailed_by_cap: byCap, reason };
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

function oneMoreMegawatt(assessments: readonly DeviceAssessment[], devices: readonly PlannedDevice[]): SitePlan['one_more_mw'] {
  const result: SitePlan['one_more_mw'] = {};
  const priced = assessments.find((a) => a.power_price_usd_per_kwh !== undefined && a.best_activity !== undefined);
  if (!priced) return result;
  const costPerMw = powerCostUsdPerDay(1e6, priced.power_price_usd_per_kwh!);

  const mining = new Set(devices.filter((d) => d.activity === 'mining').map((d) => d.device_id));
  const miners = assessments.filter((a) => a.kind === 'asic' && mining.has(a.device_id) && a.efficiency_j_per_th !== undefined);
  const medianJPerTh = median(miners.map((a) => a.efficiency_j_per_th!));
  if (medianJPerTh !== undefined) {
    const revenue = miners[0]!.hashprice_usd_per_th_day! * (1e6 / medianJPerTh);
    result.mining = {
      basis: `1 MW of ASICs at the median ${medianJPerTh.toFixed(1)} J/TH of ${miners.length} measured ASICs the plan runs (${(1e6 / medianJPerTh / 1000).toFixed(1)} PH/s)`,
      revenue_usd_per_day: revenue,
      power_cost_usd_per_day: costPerMw,
      margin_usd_per_day: revenue - costPerMw,
    };
  }

  const gpus = assessments.filter((a) => a.kind === 'gpu' && a.revenue_usd_per_day.leasing !== undefined && a.power_w !== undefined);
  const medianLeasePerW = median(gpus.map((a) => a.revenue_usd_per_day.leasing! / judgedW(a)));
  if (medianLeasePerW !== undefined) {
    const medianW = median(gpus.map(judgedW))!;
    const revenue = medianLeasePerW * 1e6;
    result.leasing = {
      basis: `1 MW of GPU servers at the median lease value per watt of ${gpus.length} assessed GPUs, each on its rated draw plus its server's overhead (median ${Math.round(medianW)} W per GPU, ~${Math.round(1e6 / medianW)} GPUs)`,
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
