import type { EconomicsConfigInput } from '../../config/economics-schema.js';

/**
 * Economics for the demo and for `potencia recommend` without a config: static late-2025 figures
 * (BTC ≈ $95,000, difficulty 152 T, ~0.025 BTC fees per block, height 925,000: hashprice ≈ $0.039 per
 * TH/s per day), a flat $0.06/kWh, and a cap at `capShare` of the farm's nameplate draw so the site plan
 * has something to curtail. Lease rates are 2025 marketplace figures for the GPUs a farm is likely to have;
 * replacement prices are list prices of late 2025, resale what used machines fetched then.
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
    plan: { min_run: '5m', min_off: '5m', deadband_usd_per_day: 0.1 },
    forecast: { difficulty_growth_per_epoch: 0.02, btc_price_usd: { p10: 60_000, p50: 95_000, p90: 140_000 } },
    replacement: {
      horizon_days: 540,
      options: [
        { model: 'Antminer S21 XP', price_usd: 5800 },
        { model: 'Antminer S21 Pro', price_usd: 4200 },
      ],
      resale_usd: { 'Antminer S19j Pro': 350, 'Antminer S19 Pro': 450, 'Antminer S19 XP': 900, 'Antminer S9': 20 },
    },
  };
}
