import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findModel } from '../agent/catalog.js';
import { hashpriceUsdPerThDay } from '../agent/economics/bitcoin.js';
import { DEFAULT_ASSESS_INTERVAL_MS, EconomicsPart, NEW_DEVICE_DELAY_MS } from '../agent/economics/part.js';
import { createLogger } from '../agent/log.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { DeviceStore } from '../agent/state.js';
import type { EconomicsConfigInput } from '../config/economics-schema.js';
import { configSchema, type Config } from '../config/schema.js';
import { SignalState } from '../exporters/mqtt/signals.js';
import { MetricsExposition } from '../exporters/prometheus/exposition.js';
import { registerEconomicsSiteMetrics } from '../exporters/prometheus/economics-site-metrics.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { detachedContext } from '../bench/context.js';
import { findTool, freePort } from './helpers.js';

const AT = '2025-11-20T12:00:00.000Z';
const HASHPRICE = hashpriceUsdPerThDay({ priceUsd: 95_000, difficulty: 152e12, subsidyBtc: 3.125, feesPerBlockBtc: 0.025, poolFeeRatio: 0.02 });

const ECONOMICS: EconomicsConfigInput = {
  bitcoin: { price_usd: 95_000, difficulty: 152e12, fees_per_block_btc: 0.025, block_height: 925_000, pool_fee_ratio: 0.02 },
  power: { flat_usd_per_kwh: 0.06 },
  gpu_models: { 'NVIDIA H100 80GB HBM3': { rate_usd_per_hour: 2.1, occupancy_ratio: 0.75, platform_fee_ratio: 0.15 } },
  site_power_cap_kw: 4,
  // The drifted S19 Pro sells for $1,000: an S21 XP at $2,000 pays back in 1,000 ÷ $5.23/day = 191 days;
  // the S9 (no resale) in 2,000 ÷ $5.23 = 382 days, or 212 days at $0.01/kWh: both past the horizon.
  replacement: { horizon_days: 200, options: [{ model: 'Antminer S21 XP', price_usd: 2000 }], resale_usd: { 'Antminer S19 Pro': 1000 } },
};

function asic(id: string, model: string, th: number, watts: number, over: Partial<DeviceSnapshot> = {}): DeviceSnapshot {
  return {
    id,
    kind: 'asic',
    target: `cgminer://${id.slice(5)}:4028`,
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

/** S21 mines, S9 loses money, a drifted S19 Pro is replaced, an H100 leases, a PDU measures them all. */
function farm(): DeviceSnapshot[] {
  return [
    asic('asic/10.0.0.1', 'Antminer S21', 200, 3500),
    asic('asic/10.0.0.2', 'Antminer S9', 13.5, 1323),
    asic('asic/10.0.0.3', 'Antminer S19 Pro', 110, 4500),
    {
      id: 'GPU-1',
      kind: 'gpu',
      target: 'nvidia-smi://node1',
      labels: { site: 'tx1' },
      model: 'NVIDIA H100 80GB HBM3',
      up: true,
      observed_at: AT,
      power_w: 700,
      power_source: 'gpu_counter',
      temperatures_c: {},
      fans_rpm: [],
    },
    {
      id: 'pdu/10.0.9.1',
      kind: 'pdu',
      target: 'snmp://10.0.9.1',
      labels: { site: 'tx1' },
      up: true,
      observed_at: AT,
      power_w: 10_023,
      power_source: 'pdu',
      temperatures_c: {},
      fans_rpm: [],
    },
  ];
}

function setup(economics: EconomicsConfigInput = ECONOMICS, snapshots: DeviceSnapshot[] = farm()) {
  const store = new DeviceStore();
  for (const s of snapshots) store.upsert(s);
  let config: Config = configSchema.parse({ economics });
  const ctx = detachedContext(store, { config: () => config });
  const metrics = new AgentMetrics(ctx, { processMetrics: false, version: 'test' });
  const part = new EconomicsPart(config.economics!, { now: () => Date.parse(AT) });
  registerEconomicsSiteMetrics(metrics.registry, part);
  const exposition = new MetricsExposition({ store, metrics, polls: ctx.polls, economics: part });
  return {
    store,
    part,
    ctx,
    render: () => exposition.renderText(),
    renderer: exposition.renderer,
    setConfig: (next: Config) => (config = next),
  };
}

/** The value of one sample, by family and device (plus an extra label), or undefined when absent. */
function sample(text: string, name: string, device?: string, extra = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (device !== undefined && !line.includes(`device="${device}"`)) continue;
    if (extra && !line.includes(extra)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const parts: EconomicsPart[] = [];
afterEach(() => {
  for (const p of parts.splice(0)) p.stop();
  vi.useRealTimers();
});

function started(economics?: EconomicsConfigInput, snapshots?: DeviceSnapshot[]) {
  const s = setup(economics, snapshots);
  parts.push(s.part);
  s.part.start(s.ctx);
  return s;
}

describe('EconomicsPart', () => {
  it('assesses every device at start and plans the site under the cap: cheapest margin per watt curtailed first, PDUs not counted twice', () => {
    const { part } = started();
    expect(part.assessment('asic/10.0.0.1')).toMatchObject({ recommendation: 'mine', best_activity: 'mining' });
    expect(part.assessment('asic/10.0.0.1')!.revenue_usd_per_day.mining).toBeCloseTo(200 * HASHPRICE, 9);
    expect(part.assessment('asic/10.0.0.2')!.recommendation).toBe('curtail');
    expect(part.assessment('asic/10.0.0.3')!.recommendation).toBe('replace');
    expect(part.assessment('GPU-1')!.recommendation).toBe('lease');
    expect(part.assessment('pdu/10.0.9.1')!.recommendation).toBeUndefined();

    const plan = part.sitePlan()!;
    expect(plan.cap_kw).toBe(4);
    // The H100 (0.7 kW, far more per watt) fits; the S21 (3.5 kW) would take it to 4.2 kW.
    expect(plan.planned_kw).toBeCloseTo(0.7, 9);
    expect(plan.devices.find((d) => d.device_id === 'asic/10.0.0.1')).toMatchObject({ activity: 'curtailed', curtailed_by_cap: true });
    expect(plan.devices.find((d) => d.device_id === 'GPU-1')).toMatchObject({ activity: 'leasing', curtailed_by_cap: false });
    expect(part.get('asic/10.0.0.1')!.planned!.activity).toBe('curtailed');
  });

  it("has /metrics render each round's assessments as the round ends, so a scrape after it renders none", async () => {
    const { part, render, renderer } = started();
    await render();
    part.setPowerPriceOverride(0.2);
    part.assessNow();
    const text = await render();
    expect(renderer.stats.economicsAtScrape).toBe(0);
    expect(text).toMatch(/potencia_device_power_cost_usd_per_day\{device="asic\/10\.0\.0\.1"[^}]*\} \d/);
  });

  it('exports per-device economics through the /metrics renderer and site figures through the registry', async () => {
    const { render } = started();
    const text = await render();
    const s21 = 'asic/10.0.0.1';
    expect(sample(text, 'potencia_device_revenue_usd_per_day', s21, 'activity="mining"')).toBeCloseTo(200 * HASHPRICE, 4);
    expect(sample(text, 'potencia_device_power_cost_usd_per_day', s21)).toBe(5.04);
    expect(sample(text, 'potencia_device_margin_usd_per_day', s21, 'activity="mining"')).toBeCloseTo(200 * HASHPRICE - 5.04, 4);
    expect(sample(text, 'potencia_device_break_even_usd_per_kwh', s21)).toBeCloseTo((200 * HASHPRICE) / 84, 4);
    expect(sample(text, 'potencia_device_recommendation', s21, 'action="mine"')).toBe(1);
    expect(sample(text, 'potencia_device_recommendation', s21, 'action="curtail"')).toBe(0);
    expect(sample(text, 'potencia_device_recommendation', 'asic/10.0.0.2', 'action="curtail"')).toBe(1);
    expect(sample(text, 'potencia_device_planned_running', s21)).toBe(0);
    expect(sample(text, 'potencia_device_planned_running', 'GPU-1')).toBe(1);
    expect(sample(text, 'potencia_device_revenue_usd_per_day', 'GPU-1', 'activity="leasing"')).toBeCloseTo(2.1 * 24 * 0.75 * 0.85, 4);
    expect(sample(text, 'potencia_device_efficiency_drift_ratio', 'asic/10.0.0.3')).toBeCloseTo(4500 / 110 / findModel('Antminer S19 Pro')!.nominal_efficiency_j_per_th - 1, 3);
    // A PDU has no economics series at all.
    expect(text).not.toMatch(/potencia_device_(recommendation|planned_running|power_cost_usd_per_day)\{device="pdu/);

    expect(sample(text, 'potencia_hashprice_usd_per_terahash_day')).toBeCloseTo(HASHPRICE, 12);
    expect(sample(text, 'potencia_power_price_usd_per_kwh')).toBe(0.06);
    expect(sample(text, 'potencia_bitcoin_price_usd')).toBe(95_000);
    expect(sample(text, 'potencia_bitcoin_difficulty')).toBe(152e12);
    expect(sample(text, 'potencia_site_power_cap_watts')).toBe(4000);
    expect(sample(text, 'potencia_site_planned_power_watts')).toBeCloseTo(700, 6);
    expect(sample(text, 'potencia_site_revenue_usd_per_day', undefined, 'activity="leasing"')).toBeCloseTo(2.1 * 24 * 0.75 * 0.85, 6);
    expect(sample(text, 'potencia_site_revenue_usd_per_day', undefined, 'activity="mining"')).toBe(0);
    expect(sample(text, 'potencia_site_margin_usd_per_day', undefined, 'activity="leasing"')).toBeCloseTo(2.1 * 24 * 0.75 * 0.85 - 0.7 * 24 * 0.06, 6);
    // No ASIC runs under this cap, so there is no measured running miner to value a mining MW by.
    expect(sample(text, 'potencia_site_value_of_one_more_megawatt_usd_per_day', undefined, 'activity="mining"')).toBeUndefined();
    expect(sample(text, 'potencia_site_value_of_one_more_megawatt_usd_per_day', undefined, 'activity="leasing"')).toBeDefined();
    // The S21 alone is worth less than the H100 in 4 kW: the plan is the best subset, the LP bound a fraction of the S21 more.
    expect(sample(text, 'potencia_site_plan_margin_gap_usd_per_day')).toBeGreaterThan(0);
    expect(sample(text, 'potencia_site_plan_changes')).toBe(0);
    // The PDU's reading is its own family, never a device's draw; the site margin has no PDU cost in it.
    expect(sample(text, 'potencia_pdu_power_watts', 'pdu/10.0.9.1')).toBe(10_023);
    expect(sample(text, 'potencia_device_power_watts', 'pdu/10.0.9.1')).toBeUndefined();
    expect(sample(text, 'potencia_site_margin_usd_per_day', undefined, 'activity="unassessed"')).toBe(0);
    expect(sample(text, 'potencia_economics_input_stale', undefined, 'input="btc_price_usd"')).toBe(0);
    expect(sample(text, 'potencia_economics_replace_drift_ratio')).toBe(0.25);
    // Static inputs have no age.
    expect(text).not.toContain('potencia_economics_input_age_seconds{');

    const promtool = findTool('promtool');
    if (promtool) {
      const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ status: check.status, stdout: check.stdout, stderr: check.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    }
  });

  it('exports the forward view over economics.forecast.horizon per activity and scenario', async () => {
    const { part, render } = started({ ...ECONOMICS, forecast: { horizon: '90d', btc_price_usd: { p10: 60_000, p50: 95_000, p90: 140_000 } } });
    const view = part.forecast()!;
    expect(view.horizon_days).toBe(90);
    // Under the 4 kW cap only the H100 runs: its lease is fixed income, the same in every scenario.
    const lease = view.activities.leasing!.margin_usd;
    expect(lease.p10).toBeCloseTo((2.1 * 24 * 0.75 * 0.85 - 0.7 * 24 * 0.06) * 90, 6);
    expect(lease.p90).toBe(lease.p10);
    expect(view.activities.mining).toBeUndefined();
    // The S21's own forward figures rise with the price scenario.
    const s21 = view.devices.find((d) => d.device_id === 'asic/10.0.0.1')!;
    expect(s21.margin_usd.p10).toBeLessThan(s21.margin_usd.p50);
    expect(s21.margin_usd.p50).toBeLessThan(s21.margin_usd.p90);
    const text = await render();
    expect(sample(text, 'potencia_site_forward_horizon_days')).toBe(90);
    expect(sample(text, 'potencia_site_forward_margin_usd', undefined, 'activity="leasing",scenario="p50"')).toBeCloseTo(lease.p50, 6);
    // And per device, as recommend --horizon shows it.
    for (const scenario of ['p10', 'p50', 'p90'] as const) {
      expect(sample(text, 'potencia_device_forward_margin_usd', 'asic/10.0.0.1', `scenario="${scenario}"`)).toBeCloseTo(s21.margin_usd[scenario], 3);
    }
    expect(sample(text, 'potencia_device_forward_break_even_btc_price_usd', 'asic/10.0.0.1')).toBeCloseTo(s21.break_even_btc_usd!, 3);
    expect(sample(text, 'potencia_device_forward_break_even_btc_price_usd', 'GPU-1')).toBeUndefined();
  });

  it('logs what the plan changed and why when a demand-response cap curtails a running device', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const store = new DeviceStore();
    for (const snapshot of farm()) store.upsert(snapshot);
    const config = configSchema.parse({ economics: ECONOMICS });
    const part = new EconomicsPart(config.economics!, { now: () => Date.parse(AT) });
    parts.push(part);
    part.start(detachedContext(store, { config: () => config, logger: createLogger({ destination }) }));
    expect(part.sitePlan()!.changes).toEqual([]);
    part.setCapOverrideKw(0.5);
    expect(part.sitePlan()!.changes).toEqual([
      { device_id: 'GPU-1', from: 'leasing', to: 'curtailed', reason: expect.stringMatching(/^curtail: site cap 0\.5 kW; the best subset/) },
    ]);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; changed?: number; changes?: { device_id: string }[] }).find((l) => l.msg === 'site plan changed');
    expect(logged).toMatchObject({ changed: 1, changes: [{ device_id: 'GPU-1' }] });
  });

  it('takes a power-price override and a demand-response cap, re-assessing at once and naming the devices whose decision changed', async () => {
    const { part, render } = started();
    const changes: (readonly string[] | undefined)[] = [];
    part.onChange((ids) => changes.push(ids));

    part.setPowerPriceOverride(0.01);
    expect(part.inputs()!.power_price_usd_per_kwh).toEqual({ value: 0.01, origin: 'override', stale: false });
    expect(part.assessment('asic/10.0.0.2')!.recommendation).toBe('mine');
    expect(changes.at(-1)).toContain('asic/10.0.0.2');
    // Nothing was polled: the renderer must still pick up the new assessments.
    let text = await render();
    expect(sample(text, 'potencia_power_price_usd_per_kwh')).toBe(0.01);
    expect(sample(text, 'potencia_device_recommendation', 'asic/10.0.0.2', 'action="mine"')).toBe(1);

    part.setCapOverrideKw(0.5);
    expect(part.sitePlan()!.cap_kw).toBe(0.5);
    expect(part.sitePlan()!.devices.filter((d) => d.activity === 'mining' || d.activity === 'leasing')).toEqual([]);
    text = await render();
    expect(sample(text, 'potencia_device_planned_running', 'GPU-1')).toBe(0);
    expect(sample(text, 'potencia_site_power_cap_watts')).toBe(500);

    // A demand-response cap above the configured one does not lift it.
    part.setCapOverrideKw(100);
    expect(part.sitePlan()!.cap_kw).toBe(4);
    part.setCapOverrideKw(undefined);
    part.setPowerPriceOverride(undefined);
    expect(part.inputs()!.power_price_usd_per_kwh!.value).toBe(0.06);
    expect(part.assessment('asic/10.0.0.2')!.recommendation).toBe('curtail');
  });

  it('follows the MQTT signals: curtail to target_kw, a pushed (negative) price, and both lifted when cleared', () => {
    const { part } = started();
    const signals = new SignalState();
    const unfollow = part.followSignals(signals);
    expect(signals.accept('demand_response', JSON.stringify({ curtail: true, target_kw: 0.8 }), 'potencia/tx1/signals/demand_response').ok).toBe(true);
    expect(part.sitePlan()!.cap_kw).toBe(0.8);
    expect(signals.accept('power_price', JSON.stringify({ usd_per_kwh: -0.02 }), 'potencia/tx1/signals/power_price').ok).toBe(true);
    expect(part.inputs()!.power_price_usd_per_kwh!.value).toBe(-0.02);
    signals.accept('demand_response', '', 'potencia/tx1/signals/demand_response');
    expect(part.sitePlan()!.cap_kw).toBe(4);
    unfollow();
    signals.accept('power_price', '', 'potencia/tx1/signals/power_price');
    expect(part.inputs()!.power_price_usd_per_kwh!.value).toBe(-0.02);
  });

  it('assesses a new device within a second, other changes on the interval, and stops without leaving timers or series', async () => {
    vi.useFakeTimers();
    const { part, store, render } = started();
    store.upsert(asic('asic/10.0.0.9', 'Antminer S21 Pro', 234, 3510));
    expect(part.assessment('asic/10.0.0.9')).toBeUndefined();
    vi.advanceTimersByTime(NEW_DEVICE_DELAY_MS);
    expect(part.assessment('asic/10.0.0.9')!.recommendation).toBe('mine');

    // Same device, same judgeability, worse power: waits for the interval.
    store.upsert(asic('asic/10.0.0.9', 'Antminer S21 Pro', 234, 6000));
    vi.advanceTimersByTime(NEW_DEVICE_DELAY_MS);
    expect(part.assessment('asic/10.0.0.9')!.power_w).toBe(3510);
    vi.advanceTimersByTime(DEFAULT_ASSESS_INTERVAL_MS);
    expect(part.assessment('asic/10.0.0.9')!.power_w).toBe(6000);

    // Gone from the store: gone from the assessments at the next round.
    store.remove('asic/10.0.0.9');
    vi.advanceTimersByTime(DEFAULT_ASSESS_INTERVAL_MS);
    expect(part.assessment('asic/10.0.0.9')).toBeUndefined();

    part.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(part.figures()).toBeUndefined();
    const text = await render();
    expect(text).not.toMatch(/^potencia_hashprice_usd_per_terahash_day /m);
    expect(text).not.toContain('potencia_device_recommendation');
    // Started again, its series come back.
    part.start(detachedContext(store, { config: () => configSchema.parse({ economics: ECONOMICS }) }));
    expect(await render()).toContain('potencia_hashprice_usd_per_terahash_day ');
  });

  it('marks a live input that never arrived as stale and leaves the miners unassessed, saying why', async () => {
    const port = await freePort();
    const { part, render } = started({
      ...ECONOMICS,
      bitcoin: { price_source: { url: `http://127.0.0.1:${port}/price` }, difficulty: 152e12, fees_per_block_btc: 0.025, block_height: 925_000 },
    });
    await part.refreshInputs();
    part.assessNow();
    expect(part.assessment('asic/10.0.0.1')!.recommendation).toBeUndefined();
    expect(part.assessment('asic/10.0.0.1')!.reason).toMatch(/^no hashprice: missing btc_price_usd/);
    expect(part.assessment('GPU-1')!.recommendation).toBe('lease');
    const text = await render();
    expect(sample(text, 'potencia_economics_input_stale', undefined, 'input="btc_price_usd"')).toBe(1);
    expect(sample(text, 'potencia_economics_input_stale', undefined, 'input="difficulty"')).toBe(0);
    expect(text).not.toMatch(/^potencia_hashprice_usd_per_terahash_day /m);
    expect(text).not.toMatch(/^potencia_bitcoin_price_usd /m);
  });

  it('a reload that removes the economics section clears every assessment and its series', async () => {
    const { part, render, setConfig } = started();
    const next = configSchema.parse({});
    setConfig(next);
    part.applyConfig(next);
    expect(part.assessment('asic/10.0.0.1')).toBeUndefined();
    expect(part.sitePlan()).toBeUndefined();
    const text = await render();
    expect(text).not.toContain('potencia_device_margin_usd_per_day{');
    expect(text).not.toMatch(/^potencia_site_planned_power_watts /m);
    // Overrides while economics is off assess nothing.
    part.setPowerPriceOverride(0.01);
    expect(part.assessment('asic/10.0.0.1')).toBeUndefined();
    part.setPowerPriceOverride(undefined);
    // And back: a new section starts assessing again.
    // And back, with the very section it had before.
    part.applyConfig(configSchema.parse({ economics: ECONOMICS }));
    expect(part.sitePlan()!.cap_kw).toBe(4);
    expect(part.assessment('asic/10.0.0.1')!.recommendation).toBe('mine');
    part.applyConfig(configSchema.parse({ economics: { ...ECONOMICS, site_power_cap_kw: 10 } }));
    expect(part.sitePlan()!.cap_kw).toBe(10);
  });
});
