import type { EconomicsConfigInput } from '../../config/economics-schema.js';

/**
 * Economics for the demo and for `potencia recommend` without a config: static late-2025 figures
 * (BTC ≈ $95,000, difficulty 152 T, ~0.025 BTC fees per block, height 925,000: hashprice ≈ $0.039 per
 * TH/s per day), a flat $0.06/kWh, and a cap at `capShare` of the farm's nameplate draw so the site plan
 * has something to curtail. Lease rates are 2025 marketplace figures for the GPUs a farm is likely to have.
 */
export function demoEconomics(nameplateKw: number, capShare = 0.3): EconomicsConfigInput {
  return {
    bitcoin: { price_usd: 95_000, difficulty: 152e12, fees_per_block_btc: 0.025, block_height: 925_000, pool_fee_ratio: 0.02 },
    power: { flat_usd_per_kwh: 0.06 },
    gpu_models: {
      'NVIDIA H100 80GB HBM3': { rate_usd_per_hour: 2.1, occupancy_ratio: 0.75, platform_fee_ratio: 0.15 },
      'NVIDIA A100-SXM4-80GB': { rate_usd_per_hour: 1.1, occupancy_ratio: 0.65, platform_fee_ratio: 0.15 },
      'NVIDIA GeForce RTX 4090': { rate_usd_per_hour: 0.35, occupancy_ratio: 0.55, platform_fee_ratio: 0.2, mining_revenue_usd_per_day: 0.4 },
    },
    site_power_cap_kw: Math.max(1, Math.round(nameplateKw * capShare * 10) / 10),
  };
}
