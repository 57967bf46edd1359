import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import { usd } from '../agent/economics/format.js';
import { hashAlgorithmOf, type DeviceSnapshot } from '../agent/snapshot.js';
import type { EconomicInputs, InputReading } from '../agent/economics/inputs.js';
import { hashpriceUsdPerThDay } from '../agent/economics/bitcoin.js';
import { assessDevice, assessDevices, gpuNodePower } from '../agent/economics/assess.js';
import { planSite } from '../agent/economics/plan.js';
import type { DeviceAssessment } from '../agent/economics/types.js';
import { REPO_ROOT } from './helpers.js';

const AT = '2025-11-20T12:00:00.000Z';
const configured = (value: number): InputReading => ({ value, origin: 'config', stale: false });
const HASHPRICE = hashpriceUsdPerThDay({ priceUsd: 91_000, difficulty: 152e12, subsidyBtc: 3.125, feesPerBlockBtc: 0.03, poolFeeRatio: 0 });

function inputs(powerUsdPerKwh: number, over: Partial<EconomicInputs> = {}): EconomicInputs {
  return {
    at: AT,
    btc_price_usd: configured(91_000),
    difficulty: configured(152e12),
    fees_per_block_btc: configured(0.03),
    block_height: configured(925_000),
    subsidy_btc: configured(3.125),
    pool_fee_ratio: 0,
    power_price_usd_per_kwh: configured(powerUsdPerKwh),
    gpu_models: {
      'NVIDIA H100 80GB HBM3': { rate_usd_per_hour: 2.0, occupancy_ratio: 0.8, platform_fee_ratio: 0.2, mining_revenue_usd_per_day: 1.5 },
      'NVIDIA GeForce RTX 2080 SUPER': { rate_usd_per_hour: 0.05, occupancy_ratio: 0.5, platform_fee_ratio: 0.25 },
    },
    gpu_node_overhead_w: 0,
    replace_drift_ratio: 0.25,
    missing: [],
    ...over,
  };
}

function asic(id: string, model: string, th: number, watts: number, over: Partial<DeviceSnapshot> = {}): DeviceSnapshot {
  return {
    id,
    kind: 'asic',
    target: `cgminer://${id}:4028`,
    address: id,
    labels: { site: 'tx1' },
    model,
    up: true,
    observed_at: AT,
    hashrate_hs: th * 1e12,
    power_w: watts,
    power_source: 'reported',
    temperatures_c: {},
    fans_rpm: [],
    ...over,
  };
}

function gpu(id: string, name: string, watts: number, over: Partial<DeviceSnapshot> = {}): DeviceSnapshot {
  return {
    id,
    kind: 'gpu',
    target: 'nvidia://gpu-node-1',
    labels: {},
    model: name,
    up: true,
    observed_at: AT,
    power_w: watts,
    power_source: 'gpu_counter',
    temperatures_c: { gpu: 55 },
    fans_rpm: [],
    gpu: { index: 0, uuid: id, name, utilization_ratio: 0.97 },
    ...over,
  };
}

describe('assessDevice: ASICs', () => {
  it('mines with a profitable S21 and quotes its numbers', () => {
    const a = assessDevice(asic('10.0.1.1', 'Antminer S21', 200, 3500), inputs(0.05));
    expect(a.recommendation).toBe('mine');
    expect(a.revenue_usd_per_day.mining).toBeCloseTo(200 * HASHPRICE, 10);
    expect(a.power_cost_usd_per_day).toBeCloseTo(3.5 * 24 * 0.05, 10);
    expect(a.margin_usd_per_day.mining).toBeCloseTo(200 * HASHPRICE - 4.2, 10);
    expect(a.break_even_usd_per_kwh).toBeCloseTo((200 * HASHPRICE) / (3.5 * 24), 10);
    expect(a.efficiency_j_per_th).toBeCloseTo(17.5, 10);
    expect(a.nominal_efficiency_j_per_th).toBe(17.5);
    expect(a.efficiency_drift_ratio).toBeCloseTo(0, 10);
    expect(a.hashprice_usd_per_th_day).toBeCloseTo(HASHPRICE, 12);
    expect(a.stale).toBe(false);
    expect(a.reason).toBe('mine: mining earns $7.60/day, power costs $4.20/day at $0.050/kWh; margin $3.40/day; break-even $0.090/kWh');
  });

  it('curtails an S9 at $0.08/kWh', () => {
    const a = assessDevice(asic('10.0.1.2', 'Antminer S9', 13.5, 1323), inputs(0.08));
    expect(a.recommendation).toBe('curtail');
    expect(a.margin_usd_per_day.mining).toBeLessThan(0);
    expect(a.reason).toBe('curtail: mining earns $0.51/day, power costs $2.54/day at $0.080/kWh; break-even $0.016/kWh');
  });

  it('flags an S19 Pro whose efficiency drifted beyond the limit in its reason, but does not replace it without a payback', () => {
    // 80 TH/s at the full 3250 W: 40.6 J/TH against a nominal 29.55.
    const a = assessDevice(asic('10.0.1.3', 'Antminer S19 Pro', 80, 3250), inputs(0.03));
    expect(a.margin_usd_per_day.mining).toBeGreaterThan(0);
    expect(a.efficiency_drift_ratio).toBeCloseTo(40.625 / 29.55 - 1, 6);
    expect(a.recommendation).toBe('mine');
    expect(a.reason).toBe(
      'mine: mining earns $3.04/day, power costs $2.34/day at $0.030/kWh; margin $0.70/day; break-even $0.039/kWh; efficiency 40.6 J/TH is 37% worse than nominal 29.6 J/TH',
    );
  });

  it('does not judge drift on an estimated watt figure', () => {
    const a = assessDevice(asic('10.0.1.3', 'Antminer S19 Pro', 80, 3250, { power_source: 'nameplate' }), inputs(0.03));
    expect(a.efficiency_drift_ratio).toBeUndefined();
    expect(a.recommendation).toBe('mine');
  });

  it('keeps a drift just inside the limit mining', () => {
    const a = assessDevice(asic('10.0.1.3', 'Antminer S19 Pro', 90, 3250), inputs(0.03)); // 36.1 J/TH: 22% worse
    expect(a.recommendation).toBe('mine');
  });

  describe('replace by payback (the README worked example)', () => {
    const replacement = { horizon_days: 540, options: [{ model: 'Antminer S21 XP', price_usd: 5800 }], resale_usd: { 'Antminer S19 Pro': 450 } };
    const s19pro = asic('10.0.1.4', 'Antminer S19 Pro', 110, 3250);

    it('gives the payback of swapping an S19 Pro for an S21 XP, and replaces only within the horizon', () => {
      // Today: 110 TH/s × $0.0380 − 3.25 kW × 24 h × $0.03 = $1.84/day. An S21 XP: 270 × $0.0380 − 3.645 × 24 × $0.03 = $7.63/day.
      // Gain $5.80/day; net price $5,800 − $450 resale = $5,350; payback 5350 ÷ 5.795 = 923 days.
      const a = assessDevice(s19pro, inputs(0.03, { replacement }));
      expect(a.margin_usd_per_day.mining).toBeCloseTo(1.8397, 4);
      expect(a.replacement?.model).toBe('Antminer S21 XP');
      expect(a.replacement?.net_price_usd).toBe(5350);
      expect(a.replacement?.margin_gain_usd_per_day).toBeCloseTo(5.7951, 4);
      expect(a.replacement?.payback_days).toBeCloseTo(923.19, 2);
      expect(a.recommendation).toBe('mine');

      const within = assessDevice(s19pro, inputs(0.03, { replacement: { ...replacement, horizon_days: 1000 } }));
      expect(within.recommendation).toBe('replace');
      expect(within.reason).toMatch(/^replace: a Antminer S21 XP for \$5350\.00 net pays back in 923 days \(\+\$5\.80\/day; horizon 1000 days\); mining earns/);
    });

    it('counts a losing machine as earning nothing today (it could be curtailed instead)', () => {
      const a = assessDevice(asic('10.0.1.2', 'Antminer S9', 13.5, 1323), inputs(0.08, { replacement }));
      expect(a.margin_usd_per_day.mining).toBeLessThan(0);
      const newMargin = 270 * HASHPRICE - 3.645 * 24 * 0.08;
      expect(a.replacement?.margin_gain_usd_per_day).toBeCloseTo(newMargin, 10);
      expect(a.replacement?.payback_days).toBeCloseTo(5800 / newMargin, 8);
      expect(a.recommendation).toBe('curtail');
    });
  });

  it('recommends repair for a dead board, with the hashrate it costs, before any replacement', () => {
    const boards = [
      { index: 0, status: 'ok' as const, hashrate_hs: 36.7e12, nominal_hashrate_hs: 36.7e12 },
      { index: 1, status: 'dead' as const, hashrate_hs: 0, nominal_hashrate_hs: 36.7e12 },
      { index: 2, status: 'degraded' as const, hashrate_hs: 30e12, nominal_hashrate_hs: 36.7e12 },
    ];
    const a = assessDevice(
      asic('10.0.1.6', 'Antminer S19 Pro', 66.7, 2300, { boards }),
      inputs(0.03, { replacement: { horizon_days: 100_000, options: [{ model: 'Antminer S21 XP', price_usd: 1 }], resale_usd: {} } }),
    );
    expect(a.repair_hashrate_loss_hs).toBeCloseTo(43.4e12, 0);
    expect(a.recommendation).toBe('repair');
    expect(a.reason).toMatch(/^repair: failing hashboards cost 43\.4 TH\/s \(\$1\.65\/day\); mining earns \$2\.53\/day/);
  });

  it('gives down devices and devices without readings a reason and no recommendation', () => {
    const down = assessDevice(
      asic('10.0.1.5', 'Antminer S19', 95, 3250, { up: false, error: 'connect ECONNREFUSED 10.0.1.5:4028', hashrate_hs: undefined, power_w: undefined }),
      inputs(0.05),
    );
    expect(down.recommendation).toBeUndefined();
    expect(down.reason).toBe('down: connect ECONNREFUSED 10.0.1.5:4028');

    const noPower = assessDevice(asic('10.0.1.6', 'Antminer S19', 95, 0, { power_w: undefined }), inputs(0.05));
    expect(noPower.recommendation).toBeUndefined();
    expect(noPower.reason).toBe('no power reading');

    const idle = assessDevice(asic('10.0.1.7', 'Antminer S19', 0, 180), inputs(0.05));
    expect(idle.recommendation).toBeUndefined();
    expect(idle.reason).toBe('hashing 0 H/s while drawing 180 W');
    expect(idle.power_cost_usd_per_day).toBeCloseTo(0.18 * 24 * 0.05, 10);

    const pdu = assessDevice({ ...asic('pdu-1', 'AP8941', 0, 4000), kind: 'pdu', hashrate_hs: undefined }, inputs(0.05));
    expect(pdu.reason).toBe('a pdu only measures: its watts are the load of the devices behind it');
    expect(pdu).toMatchObject({ metering_only: true });
    expect(pdu.power_cost_usd_per_day).toBeUndefined();
  });

  it('marks an assessment stale when an input it used is stale, and says which', () => {
    const a = assessDevice(asic('10.0.1.1', 'Antminer S21', 200, 3500), inputs(0.05, { btc_price_usd: { value: 91_000, origin: 'live', stale: true, age_ms: 7_200_000 } }));
    expect(a.stale).toBe(true);
    expect(a.stale_inputs).toEqual(['btc_price_usd']);
    expect(a.recommendation).toBe('mine');
    expect(a.reason).toMatch(/ \[stale: btc_price_usd\]$/);

    const gpuOnly = assessDevice(gpu('GPU-1', 'NVIDIA H100 80GB HBM3', 700), inputs(0.05, { btc_price_usd: { value: 91_000, origin: 'live', stale: true } }));
    expect(gpuOnly.stale).toBe(false); // leasing does not use the BTC price
  });

  it('says what is missing when a live input has never arrived', () => {
    const { btc_price_usd: _dropped, ...rest } = inputs(0.05);
    const a = assessDevice(asic('10.0.1.1', 'Antminer S21', 200, 3500), { ...rest, missing: ['bitcoin price: no value fetched yet (HTTP 429)'] });
    expect(a.recommendation).toBeUndefined();
    expect(a.reason).toBe('no hashprice: missing btc_price_usd (bitcoin price: no value fetched yet (HTTP 429))');
  });
});

describe('assessDevice: GPUs', () => {
  it('leases an H100 when leasing beats mining', () => {
    const a = assessDevice(gpu('GPU-aaaa', 'NVIDIA H100 80GB HBM3', 700), inputs(0.05));
    const lease = 2.0 * 24 * 0.8 * (1 - 0.2);
    expect(a.revenue_usd_per_day).toEqual({ leasing: lease, mining: 1.5 });
    expect(a.margin_usd_per_day.leasing).toBeCloseTo(lease - 0.84, 10);
    expect(a.best_activity).toBe('leasing');
    expect(a.break_even_usd_per_kwh).toBeCloseTo(lease / (0.7 * 24), 10);
    expect(a.recommendation).toBe('lease');
    expect(a.reason).toBe('lease: leasing earns $30.72/day vs mining $1.50/day, power costs $0.84/day at $0.050/kWh; margin $29.88/day; break-even $1.829/kWh');
  });

  it('matches the configured model ignoring case and spacing, and curtails a GPU whose lease does not pay its power', () => {
    const a = assessDevice(gpu('GPU-bbbb', 'NVIDIA GeForce  RTX 2080 Super', 250), inputs(0.1));
    expect(a.revenue_usd_per_day).toEqual({ leasing: 0.05 * 24 * 0.5 * 0.75 });
    expect(a.recommendation).toBe('curtail');
    expect(a.reason).toBe('curtail: leasing earns $0.45/day, power costs $0.60/day at $0.100/kWh; break-even $0.075/kWh');
  });

  describe('on whole-server power (the README worked example)', () => {
    // An 8× H100 server whose outlet reads 7,000 W: seven GPUs at 650 W, one idle at 70 W, all rated 700 W.
    const rated = (id: string, watts: number) =>
      gpu(id, 'NVIDIA H100 80GB HBM3', watts, { address: 'gpu-node-1', gpu: { index: 0, uuid: id, name: 'NVIDIA H100 80GB HBM3', power_limit_w: 700 } });
    const node = [...Array.from({ length: 7 }, (_, i) => rated(`GPU-busy-${i}`, 650)), rated('GPU-idle', 70)];
    const gpuNodes = gpuNodePower(node, (address) => (address === 'gpu-node-1' ? 7000 : undefined));

    it('judges an idle GPU on its rated draw plus its share of what the server draws beyond its GPUs', () => {
      expect(gpuNodes.get('gpu-node-1')).toEqual({ gpus: 8, gpuW: 7 * 650 + 70, wallW: 7000 });
      const idle = assessDevice(node[7]!, inputs(0.05), { gpuNodes });
      // Overhead 7,000 − 4,620 = 2,380 W, 297.5 W a GPU: judged on 700 + 297.5 = 997.5 W.
      expect(idle.power_w).toBe(70);
      expect(idle.judged_power_w).toBeCloseTo(997.5, 10);
      expect(idle.power_cost_usd_per_day).toBeCloseTo(0.9975 * 24 * 0.05, 10);
      expect(idle.margin_usd_per_day.leasing).toBeCloseTo(30.72 - 1.197, 10);
      // Break-even $1.283/kWh, not the $18.29 its 70 W alone would give.
      expect(idle.break_even_usd_per_kwh).toBeCloseTo(30.72 / (0.9975 * 24), 10);
      expect(idle.reason).toMatch(/\[judged on 998 W: rated 700 W \(drawing 70 W now\) \+ 298 W of its server's overhead \(wall 7000 W − GPUs 4620 W, ÷ 8\)\]$/);
    });

    it('uses the configured overhead when no outlet meters the server, and values one more MW leasing on judged watts', () => {
      const unmetered = gpuNodePower(node, () => undefined);
      const a = assessDevice(node[0]!, inputs(0.05, { gpu_node_overhead_w: 1800 }), { gpuNodes: unmetered });
      expect(a.judged_power_w).toBeCloseTo(700 + 1800 / 8, 10);

      const plan = planSite(node.map((g) => assessDevice(g, inputs(0.05), { gpuNodes })));
      // Every GPU is judged on 997.5 W: 1 MW holds 1,002.5 of them at $30.72/day less 1,000 kW × 24 h × $0.05.
      expect(plan.one_more_mw.leasing?.revenue_usd_per_day).toBeCloseTo((30.72 * 1e6) / 997.5, 6);
      expect(plan.one_more_mw.leasing?.margin_usd_per_day).toBeCloseTo((30.72 * 1e6) / 997.5 - 1200, 6);
      expect(plan.totals.leasing.power_kw).toBeCloseTo(8 * 0.9975, 10);

      const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
      const idle = assessDevice(node[7]!, inputs(0.05), { gpuNodes });
      expect(readme).toContain(`break-even $${idle.break_even_usd_per_kwh!.toFixed(3)}/kWh`);
      expect(readme).toContain(`its $30.72/day lease nets $${idle.margin_usd_per_day.leasing!.toFixed(2)}`);
      expect(readme).toContain(`= $${Math.round(plan.one_more_mw.leasing!.margin_usd_per_day).toLocaleString('en-US')}/day`);
    });
  });

  it('has no recommendation for a GPU model without configured rates', () => {
    const a = assessDevice(gpu('GPU-cccc', 'NVIDIA L40S', 350), inputs(0.05));
    expect(a.recommendation).toBeUndefined();
    expect(a.reason).toBe('no gpu_models entry for "NVIDIA L40S"');
  });
});

describe('planSite', () => {
  const fleet = [
    asic('s21', 'Antminer S21', 200, 3500), // margin/W ≈ 0.00097
    asic('s19pro', 'Antminer S19 Pro', 110, 3250), // ≈ 0.000086
    asic('s19jpro', 'Antminer S19j Pro', 100, 3050), // ≈ 0.000046
    asic('s9', 'Antminer S9', 13.5, 1323), // loses money: curtail
    gpu('GPU-h100', 'NVIDIA H100 80GB HBM3', 700), // ≈ 0.043
    asic('s19-idle', 'Antminer S19', 0, 1000), // up, drawing, not hashing: load the plan cannot move
    asic('s19-down', 'Antminer S19', 95, 3250, { up: false, error: 'timeout', hashrate_hs: undefined, power_w: undefined }),
  ];
  const assessments = assessDevices(fleet, inputs(0.05));
  const byId = (plan: ReturnType<typeof planSite>) => Object.fromEntries(plan.devices.map((d) => [d.device_id, d]));

  it('runs every paying device without a cap', () => {
    const plan = planSite(assessments);
    const d = byId(plan);
    expect(d['s21']?.activity).toBe('mining');
    expect(d['s19pro']?.activity).toBe('mining');
    expect(d['s19jpro']?.activity).toBe('mining');
    expect(d['GPU-h100']?.activity).toBe('leasing');
    expect(d['s9']).toMatchObject({ activity: 'curtailed', curtailed_by_cap: false });
    expect(d['s19-idle']).toMatchObject({ activity: 'unassessed', power_kw: 1 });
    expect(d['s19-down']).toMatchObject({ activity: 'unassessed', power_kw: 0 });
    expect(plan.planned_kw).toBeCloseTo(3.5 + 3.25 + 3.05 + 0.7 + 1, 10);
    expect(plan.headroom_kw).toBeUndefined();
  });

  it('curtails the lowest margin per watt first and stays under the cap', () => {
    const cap = 8;
    const plan = planSite(assessments, cap);
    const d = byId(plan);
    // Budget after the 1 kW it cannot move: 7 kW. H100 (0.7) + S21 (3.5) = 4.2; the S19 Pro (3.25) would make 7.45.
    expect(d['GPU-h100']?.activity).toBe('leasing');
    expect(d['s21']?.activity).toBe('mining');
    expect(d['s19pro']).toMatchObject({ activity: 'curtailed', curtailed_by_cap: true });
    expect(d['s19jpro']).toMatchObject({ activity: 'curtailed', curtailed_by_cap: true });
    expect(d['s19pro']?.reason).toMatch(/^curtail: site cap 8 kW; the best subset under it leaves out mining netting \$0\.28\/day over 3\.25 kW/);
    expect(plan.planned_kw).toBeCloseTo(5.2, 10);
    expect(plan.planned_kw).toBeLessThanOrEqual(cap);
    expect(plan.headroom_kw).toBeCloseTo(2.8, 10);

    const kept = plan.devices.filter((x) => x.activity === 'mining' || x.activity === 'leasing');
    const cut = plan.devices.filter((x) => x.curtailed_by_cap);
    expect(Math.min(...kept.map((x) => x.margin_usd_per_watt_day!))).toBeGreaterThan(Math.max(...cut.map((x) => x.margin_usd_per_watt_day!)));
  });

  it('keeps the S19 Pro once the cap has room for it, and the S19j Pro still goes first', () => {
    const plan = planSite(assessments, 8.5);
    const d = byId(plan);
    expect(d['s19pro']?.activity).toBe('mining');
    expect(d['s19jpro']).toMatchObject({ activity: 'curtailed', curtailed_by_cap: true });
    expect(plan.planned_kw).toBeCloseTo(8.45, 10);
  });

  it('totals count, power, revenue, cost and margin by activity', () => {
    const plan = planSite(assessments, 8);
    const a = Object.fromEntries(assessments.map((x) => [x.device_id, x])) as Record<string, DeviceAssessment>;
    expect(plan.totals.mining.count).toBe(1);
    expect(plan.totals.mining.power_kw).toBeCloseTo(3.5, 10);
    expect(plan.totals.mining.revenue_usd_per_day).toBeCloseTo(a['s21']!.revenue_usd_per_day.mining!, 10);
    expect(plan.totals.mining.margin_usd_per_day).toBeCloseTo(a['s21']!.margin_usd_per_day.mining!, 10);
    expect(plan.totals.leasing).toMatchObject({ count: 1, power_kw: 0.7 });
    expect(plan.totals.leasing.margin_usd_per_day).toBeCloseTo(30.72 - 0.84, 10);
    expect(plan.totals.curtailed.count).toBe(3);
    expect(plan.totals.curtailed.power_kw).toBeCloseTo(3.25 + 3.05 + 1.323, 10);
    expect(plan.totals.unassessed).toMatchObject({ count: 2, power_kw: 1 });
    expect(plan.totals.unassessed.power_cost_usd_per_day).toBeCloseTo(1 * 24 * 0.05, 10);
  });

  it('values one more MW of mining at the median J/TH of the measured ASICs the plan runs and of leasing at the median lease value per watt', () => {
    const plan = planSite(assessments);
    const medianJPerTh = 3250 / 110; // of the ASICs the plan runs: S21 17.5, S19 Pro 29.5, S19j Pro 30.5 (the S9 is curtailed)
    const costPerMw = 1000 * 24 * 0.05;
    expect(plan.one_more_mw.mining?.revenue_usd_per_day).toBeCloseTo(HASHPRICE * (1e6 / medianJPerTh), 8);
    expect(plan.one_more_mw.mining?.margin_usd_per_day).toBeCloseTo(HASHPRICE * (1e6 / medianJPerTh) - costPerMw, 8);
    expect(plan.one_more_mw.mining?.basis).toMatch(/median 29\.5 J\/TH of 3 measured ASICs the plan runs/);
    expect(plan.one_more_mw.leasing?.revenue_usd_per_day).toBeCloseTo((30.72 / 700) * 1e6, 6);
    expect(plan.one_more_mw.leasing?.basis).toMatch(/median 700 W per GPU, ~1429 GPUs/);
    expect(plan.one_more_mw.better).toBe('leasing');
  });

  it('is stale when any assessment behind it is', () => {
    const stale = assessDevices(fleet, inputs(0.05, { difficulty: { value: 152e12, origin: 'live', stale: true } }));
    expect(planSite(stale).stale).toBe(true);
    expect(planSite(assessments).stale).toBe(false);
  });
});

describe('hashrate leasing for ASICs', () => {
  it('sells an S21 Pro’s hashrate when the marketplace pays more than mining nets, and says so', () => {
    // 234 TH/s = 0.234 PH/s at $45/PH/day less a 3 % fee: $10.21/day, against 234 × $0.0380 = $8.89 mining.
    const lease = { usd_per_ph_day: 45, fee_ratio: 0.03 };
    const a = assessDevice(asic('10.0.1.9', 'Antminer S21 Pro', 234, 3510), inputs(0.05, { hashrate_lease: lease }));
    expect(a.revenue_usd_per_day.leasing).toBeCloseTo(45 * 0.234 * 0.97, 10);
    expect(a.revenue_usd_per_day.mining).toBeCloseTo(234 * HASHPRICE, 10);
    expect(a.best_activity).toBe('leasing');
    expect(a.recommendation).toBe('lease');
    expect(a.reason).toMatch(/^lease: leasing earns \$10\.21\/day vs mining \$8\.89\/day, power costs \$4\.21\/day/);
    // At $30/PH/day mining wins again.
    expect(assessDevice(asic('10.0.1.9', 'Antminer S21 Pro', 234, 3510), inputs(0.05, { hashrate_lease: { usd_per_ph_day: 30, fee_ratio: 0.03 } })).recommendation).toBe('mine');
  });
});

describe('miners of other algorithms (README "Miners of other algorithms")', () => {
  it('leaves a Goldshell KD6 unassessed with its algorithm as the reason, yet costs its estimated draw and counts it under the cap', () => {
    // The README's example: 29.2 TH/s of Blake2s, no watts reported, the catalog row's 90.07 J/TH.
    const kd6 = enrichSnapshot(asic('10.0.7.1', 'Goldshell KD6', 29.2, 0, { power_w: undefined, power_source: undefined, algorithm: 'blake2s' }));
    expect([kd6.power_w, kd6.power_source]).toEqual([2630, 'estimated']);
    const a = assessDevice(kd6, inputs(0.06));
    expect(a.reason).toBe('mines Blake2s (Kadena), not SHA-256: no revenue model');
    expect(a.recommendation).toBeUndefined();
    expect(a.revenue_usd_per_day).toEqual({});
    expect(a.power_cost_usd_per_day).toBeCloseTo(2.63 * 24 * 0.06, 10);
    expect(usd(a.power_cost_usd_per_day!)).toBe('$3.79');

    const s21 = assessDevice(asic('10.0.7.2', 'Antminer S21', 200, 3500), inputs(0.06));
    const plan = planSite([a, s21], 10);
    expect(plan.devices.find((d) => d.device_id === '10.0.7.1')).toMatchObject({ activity: 'unassessed', power_kw: 2.63 });
    expect(plan.totals.unassessed).toMatchObject({ count: 1, power_kw: 2.63 });
    expect(plan.totals.unassessed.margin_usd_per_day).toBeCloseTo(-3.7872, 10);
    // 10 kW less the KD6's 2.63 leaves 7.37 kW: the S21's 3.5 kW fits.
    expect(plan.devices.find((d) => d.device_id === '10.0.7.2')?.activity).toBe('mining');
    expect(plan.planned_kw).toBeCloseTo(6.13, 10);
  });

  it('takes the algorithm from the catalog when the snapshot does not carry it, and prices SHA-256 rows as before', () => {
    expect(assessDevice(asic('10.0.7.3', 'Goldshell KA Box Pro', 1.6, 600), inputs(0.06)).reason).toBe('mines kHeavyHash (Kaspa), not SHA-256: no revenue model');
    // Enriched, the snapshot says it too, so /metrics and the MQTT site message leave it out of SHA-256 sums.
    const kaspa = enrichSnapshot(asic('10.0.7.3', 'Goldshell KA Box Pro', 1.6, 600));
    expect([kaspa.algorithm, hashAlgorithmOf(kaspa)]).toEqual(['kheavyhash', 'kheavyhash']);
    const s21 = enrichSnapshot(asic('10.0.7.5', 'Antminer S21', 200, 3500));
    expect([s21.algorithm, hashAlgorithmOf(s21)]).toEqual([undefined, 'sha256']);
    expect(assessDevice(asic('10.0.7.4', 'Goldshell-Foo', 1, 500, { algorithm: 'unknown' }), inputs(0.06)).reason).toMatch(
      /^mines an algorithm the catalog does not name, not SHA-256/,
    );
    expect(assessDevice(asic('10.0.7.5', 'Antminer S21', 200, 3500), inputs(0.06)).recommendation).toBe('mine');
    // A model the catalog lacks, with no algorithm said, is taken as SHA-256 and priced.
    expect(assessDevice(asic('10.0.7.6', 'Some Unlisted Miner', 100, 3000), inputs(0.06)).revenue_usd_per_day.mining).toBeCloseTo(100 * HASHPRICE, 10);
  });
});
