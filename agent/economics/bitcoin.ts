/**
 * Bitcoin mining revenue from network figures.
 *
 *   expected BTC/day for H (H/s) = H × 86,400 × (subsidy + mean fees per block) / (difficulty × 2^32)
 *
 * because one hash finds a block with probability 1 / (difficulty × 2^32). Hashprice is that for
 * 1 TH/s (H = 10^12), in USD, after the pool's fee: the industry's "USD per TH/s per day".
 */

const SECONDS_PER_DAY = 86_400;
const HASHES_PER_DIFFICULTY_1 = 2 ** 32;
const SATS_PER_BTC = 100_000_000;
const INITIAL_SUBSIDY_SATS = 50 * SATS_PER_BTC;
export const HALVING_INTERVAL_BLOCKS = 210_000;

/**
 * The block subsidy at a height: 50 BTC halved every 210,000 blocks, in whole satoshis as consensus
 * computes it (a right shift, so it reaches zero after 33 halvings), e.g. 3.125 BTC from block 840,000.
 */
export function blockSubsidyBtc(height: number): number {
  if (!Number.isInteger(height) || height < 0) throw new RangeError(`block height must be a non-negative integer, got ${height}`);
  const halvings = Math.floor(height / HALVING_INTERVAL_BLOCKS);
  return Math.floor(INITIAL_SUBSIDY_SATS / 2 ** halvings) / SATS_PER_BTC;
}

/** Expected BTC per day for a hashrate, before pool fees; 0 for no hashrate. */
export function expectedBtcPerDay(hashrateHs: number, difficulty: number, subsidyBtc: number, feesPerBlockBtc: number): number {
  if (!(difficulty > 0)) throw new RangeError(`difficulty must be positive, got ${difficulty}`);
  if (!(hashrateHs > 0)) return 0;
  return (hashrateHs * SECONDS_PER_DAY * (subsidyBtc + feesPerBlockBtc)) / (difficulty * HASHES_PER_DIFFICULTY_1);
}

export interface HashpriceInputs {
  priceUsd: number;
  difficulty: number;
  subsidyBtc: number;
  feesPerBlockBtc: number;
  /** The pool's cut, 0.02 for 2%. */
  poolFeeRatio: number;
}

/** USD earned per TH/s per day after the pool fee. */
export function hashpriceUsdPerThDay({ priceUsd, difficulty, subsidyBtc, feesPerBlockBtc, poolFeeRatio }: HashpriceInputs): number {
  return expectedBtcPerDay(1e12, difficulty, subsidyBtc, feesPerBlockBtc) * priceUsd * (1 - poolFeeRatio);
}
