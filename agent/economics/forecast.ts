/**
 * The forward view: what each device, each activity and one more MW would net over a horizon, day by
 * day, as difficulty grows, the subsidy halves and the BTC price follows each scenario.
 *
 *   day d (0 ≤ d < horizon days):  height_d = height + 144 × d
 *                                  difficulty_d = difficulty × (1 + growth)^⌊144 × d ÷ 2016⌋   (a step each epoch)
 *                                  subsidy_d = the subsidy at height_d (halving at 1,050,000, …)
 *   mining revenue_d  = price × (subsidy_d + fees) × 86,400 × TH/s × 10¹² ÷ (difficulty_d × 2³²) × (1 − pool fee)
 *   margin over the horizon = Σ_d (revenue_d − power cost per day), power cost at today's price
 *   break-even BTC price     = horizon days × power cost per day ÷ Σ_d (revenue_d ÷ price)
 *   leasing margin over the horizon = (lease revenue − power cost) × days, the same in every scenario
 *                                     (a GPU lease, or an ASIC's hashrate sold at the configured rate); a
 *                                     committed GPU contract pays its rate until it ends, the spot terms after
 * Each scenario holds its BTC price over the horizon (P10 / P50 / P90 as configured).
 */
import type { ForecastConfig } from '../../config/economics-schema.js';
import { activeContract, findGpuEconomics, leaseRevenueUsdPerDay } from './assess.js';
import { blockSubsidyBtc, expectedBtcPerDay } from './bitcoin.js';
import type { EconomicInputs } from './inputs.js';
import { median } from './plan.js';
import { SCENARIOS, type DeviceAssessment, type Forecast, type ForwardFigures, type SitePlan } from './types.js';

const BLOCKS_PER_DAY = 144;
const BLOCKS_PER_EPOCH = 2016;
/** Σ over the horizon of the BTC one TH/s mines a day after the pool fee: revenue per USD of BTC price. */
export function btcPerThOverHorizon(inputs: EconomicInputs, days: number, growthPerEpoch: number): number | undefined {
  const height = inputs.block_height?.value;
  const difficulty = inputs.difficulty?.value;
  const fees = inputs.fees_per_block_btc?.value;
  if (height === undefined || difficulty === undefined || fees === undefined) return undefined;
  let btc = 0;
  for (let d = 0; d < days; d++) {
    const blocks = BLOCKS_PER_DAY * d;
    const difficultyNow = difficulty * (1 + growthPerEpoch) ** Math.floor(blocks / BLOCKS_PER_EPOCH);
    btc += expectedBtcPerDay(1e12, difficultyNow, blockSubsidyBtc(Math.round(height) + blocks), fees);
  }
  return btc * (1 - inputs.pool_fee_ratio);
}

/** A lease's margin over the horizon: a committed contract's income while it runs, the spot terms after it. */
function leaseMarginOverHorizon(a: DeviceAssessment, inputs: EconomicInputs, days: number): number {
  const cost = a.power_cost_usd_per_day! * days;
  const gpu = a.kind === 'gpu' ? findGpuEconomics(inputs.gpu_models, a.model) : undefined;
  const atMs = Date.parse(inputs.at);
  const contract = gpu ? activeContract(gpu, atMs) : undefined;
  if (!gpu || !contract) return a.revenue_usd_per_day.leasing! * days - cost;
  const committedDays = Math.min(days, (contract.endMs - atMs) / 86_400_000);
  return contract.usd_per_day * committedDays + leaseRevenueUsdPerDay(gpu) * (days - committedDays) - cost;
}

/** The forward view over `days`, or the reason it cannot be made. */
export function forecast(assessments: readonly DeviceAssessment[], plan: SitePlan, inputs: EconomicInputs, config: ForecastConfig, days: number): Forecast | { missing: string } {
  const btcPerTh = btcPerThOverHorizon(inputs, days, config.difficulty_growth_per_epoch);
  if (btcPerTh === undefined) return { missing: 'the forward view needs block height, difficulty and fees per block' };
  const prices = config.btc_price_usd;
  const running = new Map(plan.devices.filter((d) => d.activity === 'mining' || d.activity === 'leasing').map((d) => [d.device_id, d.activity]));
  const mining = (th: number, costPerDay: number): ForwardFigures => {
    const btc = btcPerTh * th;
    const cost = costPerDay * days;
    return {
      margin_usd: { p10: prices.p10 * btc - cost, p50: prices.p50 * btc - cost, p90: prices.p90 * btc - cost },
      ...(btc > 0 && { break_even_btc_usd: cost / btc }),
    };
  };
  const out: Forecast = { horizon_days: days, btc_price_usd: prices, difficulty_growth_per_epoch: config.difficulty_growth_per_epoch, devices: [], activities: {} };
  for (const a of assessments) {
    if (a.best_activity === undefined || a.power_cost_usd_per_day === undefined) continue;
    const activity = a.best_activity;
    let figures: ForwardFigures;
    if (activity === 'mining' && a.kind === 'asic' && a.hashrate_hs !== undefined) figures = mining(a.hashrate_hs / 1e12, a.power_cost_usd_per_day);
    else if (activity === 'leasing' && a.margin_usd_per_day.leasing !== undefined) {
      const total = leaseMarginOverHorizon(a, inputs, days);
      figures = { margin_usd: { p10: total, p50: total, p90: total } };
    } else continue;
    out.devices.push({ device_id: a.device_id, activity, ...figures });
    if (running.get(a.device_id) === activity) {
      const sum = out.activities[activity] ?? { margin_usd: { p10: 0, p50: 0, p90: 0 } };
      for (const s of SCENARIOS) sum.margin_usd[s] += figures.margin_usd[s];
      out.activities[activity] = sum;
    }
  }
  const miners = assessments.filter((a) => a.kind === 'asic' && running.get(a.device_id) === 'mining' && a.efficiency_j_per_th !== undefined);
  const jPerTh = median(miners.map((a) => a.efficiency_j_per_th!));
  const price = inputs.power_price_usd_per_kwh?.value;
  if (jPerTh !== undefined && price !== undefined) out.one_more_mw_mining = mining(1e6 / jPerTh, 1000 * 24 * price);
  return out;
}
