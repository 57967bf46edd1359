/**
 * The economics data the exporters and the CLI read: a device's assessment and the site plan. A leaf
 * module, so a reader of assessments needs none of the code that makes them.
 */
import type { DeviceKind, PowerSource } from '../snapshot.js';

/** Names of EconomicInputs readings, as used in `stale_inputs`. */
export type InputName = 'btc_price_usd' | 'difficulty' | 'fees_per_block_btc' | 'block_height' | 'subsidy_btc' | 'power_price_usd_per_kwh';

export type Recommendation = 'mine' | 'lease' | 'curtail' | 'replace' | 'repair';
export const RECOMMENDATIONS: readonly Recommendation[] = ['mine', 'lease', 'curtail', 'replace', 'repair'];
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
  /** Where `power_w` came from; efficiency and drift exist only when it was measured (pdu, reported, gpu_counter). */
  power_source?: PowerSource;
  /**
   * The watts the economics judge a GPU by: its rated draw (an idle GPU leased will draw it) plus its
   * share of the server's draw beyond its GPUs. Absent for other devices: they are judged on `power_w`.
   */
  judged_power_w?: number;
  /** How `judged_power_w` was built, quoting its figures. */
  judged_power_basis?: string;
  /** Set while a committed lease contract sets the leasing revenue: the day it ends (YYYY-MM-DD, exclusive). */
  lease_committed_until?: string;
  /** A device that only measures (PDU, meter, sensor): its watts are other devices' load, so it carries no cost. */
  metering_only?: boolean;
  hashrate_hs?: number;
  /** J/TH from measured power only; an estimate would read the catalog's figure back. */
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
  /** The best replacement option at today's prices, when any are configured for an ASIC. */
  replacement?: ReplacementAppraisal;
  /** Hashrate lost to dead or degraded boards (nominal − actual), H/s; a `repair` quotes it. */
  repair_hashrate_loss_hs?: number;
  /** Absent when the device cannot be judged; `reason` says why. */
  recommendation?: Recommendation;
  /** One line that quotes the numbers behind the recommendation, or why there is none. */
  reason: string;
  /** True when any input used is past its staleness limit. */
  stale: boolean;
  stale_inputs: InputName[];
}

export interface ReplacementAppraisal {
  model: string;
  /** Price of the new machine minus what the old one sells for. */
  net_price_usd: number;
  /** New machine's best margin minus this one's (at least 0: a losing machine can be curtailed). */
  margin_gain_usd_per_day: number;
  /** net price ÷ margin gain; absent when the new machine earns no more. */
  payback_days?: number;
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
  /** True when hysteresis (minimum run / off time, margin deadband) kept the device as it was. */
  held?: boolean;
  reason: string;
}

/** A device whose planned activity differs from the previous round's, and why. */
export interface PlanChange {
  device_id: string;
  from: PlannedActivity;
  to: PlannedActivity;
  reason: string;
}

/**
 * How close the plan is to the best achievable: the LP relaxation's margin is an upper bound on any
 * subset that fits the cap, so `gap_usd_per_day` bounds what the plan leaves unearned (hysteresis included).
 */
export interface PlanOptimality {
  margin_usd_per_day: number;
  upper_bound_usd_per_day: number;
  gap_usd_per_day: number;
}

/**
 * Per planned activity. For `curtailed`: what those devices would draw, earn, cost and net if they ran.
 * For `unassessed`: devices that draw power but cannot be judged (down yet metered, no hashrate, no
 * model rates): their draw and power cost (revenue unknown, so margin = −cost). Devices that only
 * measure (PDUs, meters, sensors) are in no total: their watts are the others' load.
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
  /** Draw of everything planned to run plus what the unassessed devices draw (metered draw of down devices included). */
  planned_kw: number;
  /** cap − planned, when there is a cap; negative when the load the plan cannot move alone exceeds it. */
  headroom_kw?: number;
  devices: PlannedDevice[];
  totals: Record<PlannedActivity, ActivityTotals>;
  /** What one more MW would earn per day mining or leasing, at the fleet's median machine. */
  one_more_mw: { mining?: MarginalMegawatt; leasing?: MarginalMegawatt; better?: Activity };
  /** True when any assessment behind the plan used a stale input. */
  stale: boolean;
  optimality?: PlanOptimality;
  /** Devices whose planned activity changed since the previous round. */
  changes: PlanChange[];
}

/** The forward view (forecast.ts): margins over a horizon by BTC price scenario. */
export const SCENARIOS = ['p10', 'p50', 'p90'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ForwardFigures {
  /** Margin over the horizon in USD, per price scenario. */
  margin_usd: Record<Scenario, number>;
  /** The BTC price at which mining nets zero over the horizon; absent for leasing. */
  break_even_btc_usd?: number;
}

export interface ForwardDevice extends ForwardFigures {
  device_id: string;
  activity: 'mining' | 'leasing';
}

export interface Forecast {
  horizon_days: number;
  btc_price_usd: Record<Scenario, number>;
  difficulty_growth_per_epoch: number;
  devices: ForwardDevice[];
  /** What the devices the plan runs would net, per activity. */
  activities: Partial<Record<'mining' | 'leasing', ForwardFigures>>;
  /** One more MW of ASICs at the median J/TH the plan's measured miners run at. */
  one_more_mw_mining?: ForwardFigures;
}
