import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assessDevice } from '../agent/economics/assess.js';
import { forecast } from '../agent/economics/forecast.js';
import type { Forecast } from '../agent/economics/types.js';
import { parseHorizonDays } from '../config/economics-schema.js';
import type { EconomicInputs, InputReading } from '../agent/economics/inputs.js';
import { planSite } from '../agent/economics/plan.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { REPO_ROOT } from './helpers.js';

const configured = (value: number): InputReading => ({ value, origin: 'config', stale: false });

/** 10,000 blocks before the halving at 1,050,000: day 70 of a 90-day horizon is the first after it. */
const inputs: EconomicInputs = {
  at: '2026-06-01T00:00:00.000Z',
  btc_price_usd: configured(95_000),
  difficulty: configured(152e12),
  fees_per_block_btc: configured(0.03),
  block_height: configured(1_040_000),
  subsidy_btc: configured(3.125),
  pool_fee_ratio: 0.02,
  power_price_usd_per_kwh: configured(0.05),
  gpu_models: {},
  gpu_node_overhead_w: 0,
  replace_drift_ratio: 0.25,
  missing: [],
};

const s21: DeviceSnapshot = {
  id: 'asic/10.0.1.1',
  kind: 'asic',
  target: 'cgminer://10.0.1.1:4028',
  labels: {},
  model: 'Antminer S21',
  up: true,
  observed_at: inputs.at,
  hashrate_hs: 200e12,
  power_w: 3500,
  power_source: 'pdu',
  temperatures_c: {},
  fans_rpm: [],
};

const config = { horizon: '90d', difficulty_growth_per_epoch: 0.02, btc_price_usd: { p10: 60_000, p50: 95_000, p90: 140_000 } };

describe('the forward view', () => {
  const a = assessDevice(s21, inputs);
  const view = forecast([a], planSite([a]), inputs, config, 90) as Forecast;

  it('matches a hand computation for one S21 over 90 days: six epochs of growth, the halving on day 70, one price path each', () => {
    // An epoch is 2,016 ÷ 144 = 14 days. Days 0–69 (epochs 0–4) earn the 3.125 BTC subsidy, days 70–89
    // (epoch 5, and 6 days of epoch 6) 1.5625 BTC. BTC a day for 200 TH/s at difficulty D and subsidy s:
    // 200e12 × 86,400 × (s + 0.03) ÷ (D × 2³²), less the 2 % pool fee.
    const btcPerDay = (subsidy: number, epoch: number) => ((200e12 * 86_400 * (subsidy + 0.03)) / (152e12 * 1.02 ** epoch * 2 ** 32)) * 0.98;
    let btc = 0;
    for (let epoch = 0; epoch <= 4; epoch++) btc += 14 * btcPerDay(3.125, epoch);
    btc += 14 * btcPerDay(1.5625, 5) + 6 * btcPerDay(1.5625, 6);
    const cost = 3.5 * 24 * 0.05 * 90; // $378
    const [device] = view.devices;
    expect(device).toMatchObject({ device_id: 'asic/10.0.1.1', activity: 'mining' });
    expect(device!.margin_usd.p10).toBeCloseTo(60_000 * btc - cost, 6);
    expect(device!.margin_usd.p50).toBeCloseTo(95_000 * btc - cost, 6);
    expect(device!.margin_usd.p90).toBeCloseTo(140_000 * btc - cost, 6);
    expect(device!.break_even_btc_usd).toBeCloseTo(cost / btc, 6);
    // The plan runs it, so the site's mining total is the same.
    expect(view.activities.mining?.margin_usd.p50).toBeCloseTo(device!.margin_usd.p50, 9);
    // And its measured 17.5 J/TH is what one more MW is built from.
    expect(view.one_more_mw_mining?.margin_usd.p50).toBeCloseTo(device!.margin_usd.p50 * (1e6 / 3500), 3);
  });

  it('is the README worked example', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const [device] = view.devices;
    const dollars = (x: number) => `$${Math.round(x).toLocaleString('en-US')}`;
    expect(readme).toContain(`nets ${dollars(device!.margin_usd.p10)} / ${dollars(device!.margin_usd.p50)} / ${dollars(device!.margin_usd.p90)} over the 90 days`);
    expect(readme).toContain(`breaks even at BTC ${dollars(device!.break_even_btc_usd!)}`);
  });

  it('reads horizons in days, months and years', () => {
    expect(parseHorizonDays('12mo')).toBe(365);
    expect(parseHorizonDays('90d')).toBe(90);
    expect(parseHorizonDays('2y')).toBe(730);
    expect(parseHorizonDays('0d')).toBeUndefined();
    expect(parseHorizonDays('12 months')).toBeUndefined();
  });
});

describe('committed GPU leases', () => {
  const h100 = (over: Partial<DeviceSnapshot> = {}): DeviceSnapshot => ({
    id: 'GPU-1',
    kind: 'gpu',
    target: 'nvidia-smi://node-1',
    address: 'node-1',
    labels: {},
    model: 'NVIDIA H100 80GB HBM3',
    up: true,
    observed_at: inputs.at,
    power_w: 700,
    power_source: 'gpu_counter',
    temperatures_c: {},
    fans_rpm: [],
    ...over,
  });
  // Spot: $2.10/h × 24 × 75 % × (1 − 15 %) = $32.13/day. Committed: $1.80/h × 24 = $43.20/day, from 2026-05-01 for 60 days.
  const spot = { rate_usd_per_hour: 2.1, occupancy_ratio: 0.75, platform_fee_ratio: 0.15 };
  const committed = { ...spot, committed: { rate_usd_per_hour: 1.8, start: '2026-05-01', term_days: 60 } };
  const withModel = (gpu: typeof spot) => ({ ...inputs, gpu_models: { 'NVIDIA H100 80GB HBM3': gpu } });

  it('earns the contract while it runs, side by side with the spot terms, and says until when', () => {
    const a = assessDevice(h100(), withModel(committed));
    expect(a.revenue_usd_per_day.leasing).toBeCloseTo(43.2, 10);
    expect(a.lease_committed_until).toBe('2026-06-30');
    expect(a.reason).toContain('[leasing committed until 2026-06-30]');
    const after = assessDevice(h100(), { ...withModel(committed), at: '2026-07-01T00:00:00.000Z' });
    expect(after.revenue_usd_per_day.leasing).toBeCloseTo(2.1 * 24 * 0.75 * 0.85, 10);
  });

  it('counts the contract as fixed income in the forward view, then the spot terms', () => {
    const a = assessDevice(h100(), withModel(committed));
    const view = forecast([a], planSite([a]), withModel(committed), config, 90) as Forecast;
    // 29 days of the contract are left on 2026-06-01 (it ends 2026-06-30), then 61 days on spot terms.
    const cost = 0.7 * 24 * 0.05 * 90;
    const expected = 43.2 * 29 + 2.1 * 24 * 0.75 * 0.85 * 61 - cost;
    expect(view.devices[0]!.margin_usd).toEqual({ p10: expect.closeTo(expected, 6), p50: expect.closeTo(expected, 6), p90: expect.closeTo(expected, 6) });
  });
});
