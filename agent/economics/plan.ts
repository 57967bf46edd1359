/**
 * The site plan under a power cap (p is the power price in USD/kWh now, as in assess.ts):
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
import { powerCostUsdPerDay } from './assess.js';
import { usd } from './format.js';
import { PLANNED_ACTIVITIES, type Activity, type ActivityTotals, type DeviceAssessment, type PlannedActivity, type PlannedDevice, type SitePlan } from './types.js';

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
        planned(
          a,
          'curtailed',
          true,
          `curtail: site cap ${capKw} kW reached; ${activity} nets ${usd(bestMargin(a))}/day over ${kw.toFixed(2)} kW (${usd(a.margin_usd_per_watt_day! * 1000)}/kW/day), below the devices kept`,
        ),
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
