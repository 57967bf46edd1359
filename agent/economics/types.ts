/**
 * The economics data the exporters and the CLI read: a device's assessment and the site plan. A leaf
 * module, so a reader of assessments needs none of the code that makes them.
 */
import type { DeviceKind } from '../snapshot.js';

/** Names of EconomicInputs readings, as used in `stale_inputs`. */
export type InputName = 'btc_price_usd' | 'difficulty' | 'fees_per_block_btc' | 'block_height' | 'subsidy_btc' | 'power_price_usd_per_kwh';

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
