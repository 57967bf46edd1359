/** The economics engine: pure functions over snapshots and inputs, plus the live inputs that feed them. */
export { blockSubsidyBtc, expectedBtcPerDay, hashpriceUsdPerThDay, HALVING_INTERVAL_BLOCKS, type HashpriceInputs } from './bitcoin.js';
export { timeOfUsePrice, wallClockAt, periodCovers, type WallClock } from './power-price.js';
export {
  LiveInput,
  ParseError,
  parseCoinGeckoBtcUsd,
  parseMempoolDifficulty,
  parseTipHeight,
  parseRewardStatsFeesPerBlock,
  parseNumberAt,
  valueAtPath,
  toNumber,
  type LiveInputOptions,
} from './sources.js';
export {
  EconomicInputsProvider,
  hashpriceFrom,
  subsidyFromHeight,
  FEE_WINDOW_BLOCKS,
  type EconomicInputs,
  type EconomicInputsProviderOptions,
  type InputReading,
  type Hashprice,
} from './inputs.js';
export { assessDevice, assessDevices, findGpuEconomics, leaseRevenueUsdPerDay, powerCostUsdPerDay, breakEvenUsdPerKwh, type AssessOptions } from './assess.js';
export { planSite, median } from './plan.js';
export {
  RECOMMENDATIONS,
  ACTIVITIES,
  PLANNED_ACTIVITIES,
  type InputName,
  type Recommendation,
  type Activity,
  type DeviceAssessment,
  type PlannedActivity,
  type PlannedDevice,
  type ActivityTotals,
  type MarginalMegawatt,
  type SitePlan,
} from './types.js';
