import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseUnderCap, planSite, rememberPlan, type PlanMemory } from '../agent/economics/plan.js';
import type { DeviceAssessment } from '../agent/economics/types.js';
import { REPO_ROOT } from './helpers.js';

/** A judged ASIC: it draws `kw` and nets `margin` USD per day mining (revenue = margin + cost at $0.05/kWh). */
function judged(id: string, kw: number, margin: number, over: Partial<DeviceAssessment> = {}): DeviceAssessment {
  const cost = kw * 24 * 0.05;
  return {
    device_id: id,
    kind: 'asic',
    up: true,
    assessed_at: '2026-01-01T00:00:00.000Z',
    power_w: kw * 1000,
    power_source: 'reported',
    power_price_usd_per_kwh: 0.05,
    revenue_usd_per_day: { mining: margin + cost },
    power_cost_usd_per_day: cost,
    margin_usd_per_day: { mining: margin },
    best_activity: 'mining',
    margin_usd_per_watt_day: margin / (kw * 1000),
    recommendation: margin < 0 ? 'curtail' : 'mine',
    reason: `${margin < 0 ? 'curtail' : 'mine'}: nets ${margin}`,
    stale: false,
    stale_inputs: [],
    ...over,
  };
}

const running = (plan: ReturnType<typeof planSite>) =>
  plan.devices
    .filter((d) => d.activity === 'mining' || d.activity === 'leasing')
    .map((d) => d.device_id)
    .sort();

describe('planSite: the best subset under the cap', () => {
  // By margin per kW: A 1.17, B 1.10, C 1.10, D 0.95, E 0.90, F 0.83. Greedy by margin per watt keeps A
  // (6 kW), then B does not fit: it earns $7.00 (or $10.70 if it goes on filling with D and E).
  // B + C fill the 10 kW exactly and earn $11.00: 36 % more than stopping at the first misfit.
  const site = [judged('A', 6, 7), judged('B', 5, 5.5), judged('C', 5, 5.5), judged('D', 2, 1.9), judged('E', 2, 1.8), judged('F', 3, 2.5)];

  it('runs the subset with the most margin, where greedy by margin per watt falls short', () => {
    const plan = planSite(site, 10);
    expect(running(plan)).toEqual(['B', 'C']);
    expect(plan.planned_kw).toBeCloseTo(10, 10);
    expect(plan.totals.mining.margin_usd_per_day).toBeCloseTo(11, 10);
    expect(plan.devices.find((d) => d.device_id === 'A')).toMatchObject({ activity: 'curtailed', curtailed_by_cap: true });
  });

  it('is the README worked example, with the figures it quotes', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const plan = planSite(site, 10);
    const money = (x: number) => `$${x.toFixed(2)}`;
    expect(readme).toContain(`the plan runs B + C for ${money(plan.optimality!.margin_usd_per_day)}`);
    expect(readme).toContain(
      `LP bound: A + 4/5 of B = ${money(plan.optimality!.upper_bound_usd_per_day)}, so the plan is within ${money(plan.optimality!.gap_usd_per_day)} of the best`,
    );
  });

  it('reports the LP bound and the gap to it', () => {
    // LP: A whole ($7) + 4/5 of B ($4.40) = $11.40 bounds any subset; the plan's $11.00 is within $0.40.
    const plan = planSite(site, 10);
    expect(plan.optimality?.margin_usd_per_day).toBeCloseTo(11, 10);
    expect(plan.optimality?.upper_bound_usd_per_day).toBeCloseTo(11.4, 10);
    expect(plan.optimality?.gap_usd_per_day).toBeCloseTo(0.4, 10);
  });

  it('matches exhaustive search on random small sites', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 200; round++) {
      const n = 2 + Math.floor(random() * 9);
      const items = Array.from({ length: n }, () => ({ kw: Math.round(500 + random() * 3500) / 1000, worth: Math.round(random() * 1000) / 100 }));
      const budget = Math.round(random() * items.reduce((s, x) => s + x.kw, 0) * 1000) / 1000;
      let best = 0;
      for (let mask = 0; mask < 1 << n; mask++) {
        let kw = 0;
        let worth = 0;
        for (let i = 0; i < n; i++) {
          if (!(mask & (1 << i))) continue;
          kw += items[i]!.kw;
          worth += items[i]!.worth;
        }
        if (kw <= budget + 1e-9 && worth > best) best = worth;
      }
      const taken = chooseUnderCap(items, budget);
      const kw = items.reduce((s, x, i) => s + (taken[i] ? x.kw : 0), 0);
      const worth = items.reduce((s, x, i) => s + (taken[i] ? x.worth : 0), 0);
      expect(kw).toBeLessThanOrEqual(budget + 1e-9);
      expect(worth).toBeCloseTo(best, 9);
    }
  });

  it('counts the metered draw of a down miner against the cap, and charges its power to the site', () => {
    const down = judged('down', 3.5, 0, {
      up: false,
      power_source: 'pdu',
      recommendation: undefined,
      best_activity: undefined,
      revenue_usd_per_day: {},
      margin_usd_per_day: {},
      power_cost_usd_per_day: 3.5 * 24 * 0.05,
      reason: 'down: timeout',
    });
    const plan = planSite([down, ...site], 10);
    // 6.5 kW left: A (6 kW) is the best that fits.
    expect(running(plan)).toEqual(['A']);
    expect(plan.planned_kw).toBeCloseTo(9.5, 10);
    expect(plan.totals.unassessed).toMatchObject({ count: 1, power_kw: 3.5 });
    expect(plan.totals.unassessed.margin_usd_per_day).toBeCloseTo(-4.2, 10);
  });

  it('leaves devices that only measure out of the plan and its totals', () => {
    const pdu = judged('pdu-1', 20, 0, {
      kind: 'pdu',
      metering_only: true,
      recommendation: undefined,
      best_activity: undefined,
      revenue_usd_per_day: {},
      margin_usd_per_day: {},
      power_cost_usd_per_day: undefined,
      reason: 'a pdu only measures',
    });
    const plan = planSite([pdu, ...site]);
    expect(plan.devices.map((d) => d.device_id)).not.toContain('pdu-1');
    expect(plan.totals.unassessed.count).toBe(0);
    expect(plan.planned_kw).toBeCloseTo(23, 10);
  });
});

describe('planSite: hysteresis', () => {
  const hysteresis = { min_run: 300_000, min_off: 300_000, deadband_usd_per_day: 0.25 };
  const at = 1_000_000_000;
  const memory = (entries: Record<string, [PlanMemory['activity'], number]>) =>
    new Map(Object.entries(entries).map(([id, [activity, since]]) => [id, { activity, since_ms: since }]));

  it('keeps a running device whose margin dips inside the deadband, and keeps a stopped one off until it clears it', () => {
    const previous = memory({ dip: ['mining', at - 3_600_000], rise: ['curtailed', at - 3_600_000] });
    const plan = planSite([judged('dip', 3, -0.1), judged('rise', 3, 0.2)], undefined, { hysteresis, previous, nowMs: at });
    const byId = Object.fromEntries(plan.devices.map((d) => [d.device_id, d]));
    expect(byId['dip']).toMatchObject({ activity: 'mining', held: true });
    expect(byId['dip']?.reason).toMatch(/^held running: margin -\$0\.10\/day is within the deadband \$0\.25/);
    expect(byId['rise']).toMatchObject({ activity: 'curtailed', held: true });
    expect(plan.changes).toEqual([]);
    // Outside the deadband both change, and the plan says so and why.
    const next = planSite([judged('dip', 3, -0.3), judged('rise', 3, 0.3)], undefined, { hysteresis, previous, nowMs: at });
    expect(next.changes).toEqual([
      { device_id: 'dip', from: 'mining', to: 'curtailed', reason: 'curtail: nets -0.3' },
      { device_id: 'rise', from: 'curtailed', to: 'mining', reason: 'mine: nets 0.3' },
    ]);
  });

  it('holds a device started less than min_run ago while the cap allows, and one stopped less than min_off ago off', () => {
    // Without hysteresis the 10 kW cap runs B + C; A started a minute ago, so it stays and D + E fill the rest.
    const site = [judged('A', 6, 7), judged('B', 5, 5.5), judged('C', 5, 5.5), judged('D', 2, 1.9), judged('E', 2, 1.8)];
    const previous = memory({ A: ['mining', at - 60_000], B: ['curtailed', at - 60_000], C: ['curtailed', at - 3_600_000] });
    const plan = planSite(site, 10, { hysteresis, previous, nowMs: at });
    expect(running(plan)).toEqual(['A', 'D', 'E']);
    const byId = Object.fromEntries(plan.devices.map((d) => [d.device_id, d]));
    expect(byId['A']?.reason).toMatch(/^held running: started 60s ago, min_run 300s/);
    expect(byId['B']).toMatchObject({ activity: 'curtailed', held: true });
    expect(byId['B']?.reason).toMatch(/^held off: stopped 60s ago, min_off 300s/);
    // A 4 kW cap cannot hold A at all: the cap wins over min_run.
    expect(running(planSite(site, 4, { hysteresis, previous, nowMs: at }))).toEqual(['D', 'E']);
  });

  it('swaps only for more than the deadband', () => {
    // X runs; Y would earn $0.10 more in the same 3 kW: within the deadband, X stays.
    const previous = memory({ X: ['mining', at - 3_600_000], Y: ['curtailed', at - 3_600_000] });
    const plan = planSite([judged('X', 3, 2), judged('Y', 3, 2.1)], 3, { hysteresis, previous, nowMs: at });
    expect(running(plan)).toEqual(['X']);
    expect(running(planSite([judged('X', 3, 2), judged('Y', 3, 2.5)], 3, { hysteresis, previous, nowMs: at }))).toEqual(['Y']);
  });

  it('remembers since when each device has been running or off', () => {
    const previous = memory({ X: ['mining', at - 10_000], Y: ['curtailed', at - 10_000] });
    const plan = planSite([judged('X', 3, 2), judged('Y', 3, 2.5)], 3, { previous, nowMs: at });
    const next = rememberPlan(plan, previous, at);
    expect(next.get('X')).toEqual({ activity: 'curtailed', since_ms: at });
    expect(next.get('Y')).toEqual({ activity: 'mining', since_ms: at });
    const same = rememberPlan(planSite([judged('X', 3, 2)], undefined, { previous, nowMs: at }), previous, at);
    expect(same.get('X')).toEqual({ activity: 'mining', since_ms: at - 10_000 });
  });

  it('holds nothing on a first plan: an agent that starts, or a device that appears, is free to take its best place', () => {
    // Round 1 sees only the miners and fills the cap with them; the GPU node arrives in round 2.
    const first = planSite([judged('M1', 3, 2), judged('M2', 3, 1)], 6, { hysteresis, nowMs: at });
    const memory = rememberPlan(first, undefined, at);
    expect(memory.get('M2')).toEqual({ activity: 'mining', since_ms: Number.NEGATIVE_INFINITY });
    const second = planSite(
      [judged('M1', 3, 2), judged('M2', 3, 1), judged('GPU', 3, 30, { kind: 'gpu', best_activity: 'leasing', margin_usd_per_day: { leasing: 30 }, recommendation: 'lease' })],
      6,
      {
        hysteresis,
        previous: memory,
        nowMs: at + 1000,
      },
    );
    expect(running(second)).toEqual(['GPU', 'M1']);
    expect(second.changes).toEqual([expect.objectContaining({ device_id: 'M2', from: 'mining', to: 'curtailed' })]);
  });
});
