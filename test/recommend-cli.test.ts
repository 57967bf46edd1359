import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceAssessment, SitePlan } from '../agent/economics/index.js';
import type { EconomicInputs } from '../agent/economics/inputs.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, runCli } from './helpers.js';

/** `potencia recommend`, the built binary, against a simulated farm on real loopback TCP. */
describe('potencia recommend', () => {
  let farm: Farm;
  let dir: string;

  beforeAll(async () => {
    // An S21 that pays, an S9 that cannot, on their own loopback block.
    farm = await startFarm({ devices: 2, seed: 5, mode: 'address', host: (await freeLoopbackBlock()).host(1), failures: false, models: ['Antminer S21', 'Antminer S9'] });
    dir = mkdtempSync(join(tmpdir(), 'potencia-recommend-'));
  });

  afterAll(async () => {
    await farm?.stop();
  });

  function config(economics: string): string {
    const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, `labels: { site: t }\ntargets:\n  - url: cgminer://${farm.miners[0]!.host}-2\n${economics}`);
    return path;
  }

  const ECONOMICS = `economics:
  bitcoin: { price_usd: 95000, difficulty: 152000000000000, fees_per_block_btc: 0.025, block_height: 925000 }
  power: { flat_usd_per_kwh: 0.06 }
  site_power_cap_kw: 10
`;

  it('--config --json: polls the targets once and prints { inputs, devices, site }', async () => {
    const r = await runCli(['recommend', '--config', config(ECONOMICS), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { inputs: EconomicInputs; devices: DeviceAssessment[]; site: SitePlan };
    expect(out.inputs.btc_price_usd).toEqual({ value: 95_000, origin: 'config', stale: false });
    const byModel = Object.fromEntries(out.devices.map((d) => [d.model, d]));
    expect(byModel['Antminer S21']!.recommendation).toBe('mine');
    expect(byModel['Antminer S9']!.recommendation).toBe('curtail');
    expect(byModel['Antminer S9']!.reason).toMatch(/^curtail: mining earns \$0\.\d\d\/day, power costs \$\d\.\d\d\/day at \$0\.060\/kWh/);
    // Every assessment says where its watts came from: these Antminers report none, so the catalog's estimate,
    // and an estimate gives no efficiency.
    expect(out.devices.map((d) => d.power_source)).toEqual(['estimated', 'estimated']);
    expect(out.devices.map((d) => d.efficiency_j_per_th)).toEqual([undefined, undefined]);
    expect(out.site.cap_kw).toBe(10);
    expect(out.site.optimality?.gap_usd_per_day).toBeGreaterThanOrEqual(0);
    expect(out.site.totals.mining.count).toBe(1);
    expect(out.site.totals.curtailed.count).toBe(1);
  });

  it('prints a table sorted by margin with the reasons, the site totals and the plan under the cap', async () => {
    const r = await runCli(['recommend', '--config', config(ECONOMICS)]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('DEVICE '));
    expect(lines[header]).toMatch(
      /^DEVICE\s+MODEL\s+TH\/s\s+W\s+POWER\s+J\/TH\s+DRIFT\s+REVENUE\/d\s+COST\/d\s+MARGIN\/d\s+BREAK-EVEN \$\/kWh\s+PAYBACK d\s+ACTION\s+PLAN\s+REASON$/,
    );
    // Highest margin first.
    expect(lines[header + 1]).toMatch(/Antminer S21 .* mine +mining +mine: /);
    expect(lines[header + 2]).toMatch(/Antminer S9 .* curtail +curtailed +curtail: /);
    expect(r.stdout).toMatch(/Recommendations: 1 mine, 1 curtail/);
    expect(r.stdout).toMatch(/Site: \d+\.\d kW planned under a 10 kW cap/);
    expect(lines[header + 1]).toMatch(/ estimated \(not measured\) +- /);
    expect(r.stdout).toMatch(/One more MW mining: not valued, no ASIC the plan runs has measured watts/);
  });

  it('--horizon prints the forward table, and says what is missing or wrong with exit 2', async () => {
    const forward = `${ECONOMICS}  forecast: { difficulty_growth_per_epoch: 0.02, btc_price_usd: { p10: 60000, p50: 95000, p90: 140000 } }\n`;
    const r = await runCli(['recommend', '--config', config(forward), '--horizon', '90d']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Forward view over 90 days: difficulty \+2\.0% a 2,016-block epoch, halvings by block height, BTC P10 \$60,000 \/ P50 \$95,000 \/ P90 \$140,000/);
    expect(r.stdout).toMatch(/^FORWARD\s+ACTIVITY\s+MARGIN P10\s+MARGIN P50\s+MARGIN P90\s+BREAK-EVEN BTC$/m);
    expect(r.stdout).toMatch(/^site plan\s+mining\s+/m);
    const json = await runCli(['recommend', '--config', config(forward), '--horizon', '12mo', '--json']);
    const out = JSON.parse(json.stdout) as { forecast: { horizon_days: number; devices: { break_even_btc_usd?: number }[] } };
    expect(out.forecast.horizon_days).toBe(365);
    expect(out.forecast.devices).toHaveLength(2);
    // The S9 needs a far higher BTC price than the S21 to pay its power over the year.
    const [s21, s9] = out.forecast.devices.map((d) => d.break_even_btc_usd!);
    expect(s9!).toBeGreaterThan(2 * s21!);

    const bad = await runCli(['recommend', '--config', config(forward), '--horizon', 'a year']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--horizon "a year" is not a horizon like 12mo, 90d or 2y/);
    const none = await runCli(['recommend', '--config', config(ECONOMICS), '--horizon', '12mo']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--horizon needs an economics\.forecast section/);
  });

  it('says so when the config has no economics section (exit 2), and runs on a built-in farm without --config', async () => {
    const missing = await runCli(['recommend', '--config', config('')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/has no economics: section/);

    const sample = await runCli(['recommend', '--json']);
    expect(sample.code).toBe(0);
    const out = JSON.parse(sample.stdout) as { devices: DeviceAssessment[]; site: SitePlan };
    expect(out.devices.length).toBe(16);
    expect(new Set(out.devices.map((d) => d.recommendation))).toEqual(new Set(['mine', 'curtail']));
    // The demo cap is set to bind: some profitable miners are curtailed for it.
    expect(out.site.devices.some((d) => d.curtailed_by_cap)).toBe(true);
  });
});
