import { Gauge, type Registry } from 'prom-client';
import type { EconomicsReader } from '../../agent/contracts/economics.js';
import { ACTIVITIES, SCENARIOS } from '../../agent/economics/types.js';

const SITE_ACTIVITIES = ['mining', 'leasing', 'unassessed'] as const;

/** Site-level economics series, read at scrape from the latest round (a handful of series: prom-client is fine). */
export function registerEconomicsSiteMetrics(registry: Registry, economics: EconomicsReader): void {
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: L[], collect: (g: Gauge<L>) => void): void => {
    const g: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        g.reset();
        // A gauge without labels resets to 0, which would read as a real figure (a cap of 0 W): absent instead.
        if (labelNames.length === 0) g.remove();
        collect(g);
      },
    });
  };
  const figure = (name: 'hashprice_usd_per_th_day' | 'power_price_usd_per_kwh' | 'btc_price_usd' | 'difficulty') => (g: Gauge<never>) => {
    const value = economics.figures()?.[name];
    if (value !== undefined) g.set(value);
  };
  const plan = () => economics.sitePlan();

  gauge(
    'potencia_hashprice_usd_per_terahash_day',
    'Hashprice: expected USD one TH/s earns per day at the current BTC price, difficulty, subsidy and fees, after the pool fee.',
    [],
    figure('hashprice_usd_per_th_day'),
  );
  gauge('potencia_power_price_usd_per_kwh', 'Power price in force now, in USD per kWh (an MQTT override wins over the config).', [], figure('power_price_usd_per_kwh'));
  gauge('potencia_bitcoin_price_usd', 'BTC price in USD the economics use.', [], figure('btc_price_usd'));
  gauge('potencia_bitcoin_difficulty', 'Bitcoin network difficulty the economics use.', [], figure('difficulty'));
  gauge('potencia_economics_input_age_seconds', 'Seconds since a fetched economic input was last read successfully; absent for figures written in the config.', ['input'], (g) => {
    for (const input of economics.figures()?.inputs ?? []) if (input.age_s !== undefined) g.set({ input: input.name }, input.age_s);
  });
  gauge(
    'potencia_economics_input_stale',
    'Per economic input the config asks for: 1 when it is past its max_age or was never fetched (assessments using it are stale), else 0.',
    ['input'],
    (g) => {
      for (const input of economics.figures()?.inputs ?? []) g.set({ input: input.name }, input.stale ? 1 : 0);
    },
  );
  gauge(
    'potencia_economics_replace_drift_ratio',
    'economics.replace_drift_ratio: efficiency this much worse than nominal is grounds for replacement; alert rules compare potencia_device_efficiency_drift_ratio with it.',
    [],
    (g) => {
      const figures = economics.figures();
      if (figures) g.set(figures.replace_drift_ratio);
    },
  );
  gauge('potencia_site_power_cap_watts', 'Most the site may draw, in watts: site_power_cap_kw, lowered by a demand-response signal.', [], (g) => {
    const cap = plan()?.cap_kw;
    if (cap !== undefined) g.set(cap * 1000);
  });
  gauge(
    'potencia_site_planned_power_watts',
    'Draw of the devices the site plan keeps running plus those it cannot judge (a down miner still metered included), in watts.',
    [],
    (g) => {
      const p = plan();
      if (p) g.set(p.planned_kw * 1000);
    },
  );
  gauge('potencia_site_revenue_usd_per_day', 'Revenue per day of the devices the site plan keeps running, by activity (mining, leasing).', ['activity'], (g) => {
    const p = plan();
    if (p) for (const activity of ACTIVITIES) g.set({ activity }, p.totals[activity].revenue_usd_per_day);
  });
  gauge(
    'potencia_site_power_cost_usd_per_day',
    'Power cost per day of the devices the site plan keeps running, by activity (mining, leasing, unassessed: devices that draw power but cannot be judged).',
    ['activity'],
    (g) => {
      const p = plan();
      if (p) for (const activity of SITE_ACTIVITIES) g.set({ activity }, p.totals[activity].power_cost_usd_per_day);
    },
  );
  gauge(
    'potencia_site_margin_usd_per_day',
    "Revenue minus power cost per day under the site plan, by activity (mining, leasing, unassessed: the cost of devices that cannot be judged); the sum is the site's net.",
    ['activity'],
    (g) => {
      const p = plan();
      if (p) for (const activity of SITE_ACTIVITIES) g.set({ activity }, p.totals[activity].margin_usd_per_day);
    },
  );
  gauge(
    'potencia_site_plan_margin_gap_usd_per_day',
    "Most margin per day the site plan under the cap can leave unearned: the LP relaxation's bound minus the plan's margin (hysteresis included); absent without a cap.",
    [],
    (g) => {
      const gap = plan()?.optimality?.gap_usd_per_day;
      if (gap !== undefined) g.set(gap);
    },
  );
  gauge('potencia_site_plan_changes', 'Devices whose planned activity changed in the latest round of the site plan.', [], (g) => {
    const p = plan();
    if (p) g.set(p.changes.length);
  });
  gauge('potencia_site_forward_horizon_days', 'Days the forward view (economics.forecast) looks ahead.', [], (g) => {
    const view = economics.forecast();
    if (view) g.set(view.horizon_days);
  });
  gauge(
    'potencia_site_forward_margin_usd',
    'Margin in USD over the forward horizon of what the site plan runs, by activity and BTC price scenario (p10, p50, p90), with difficulty growth and halvings; leases are fixed income.',
    ['activity', 'scenario'],
    (g) => {
      const view = economics.forecast();
      if (!view) return;
      for (const activity of ACTIVITIES) {
        const figures = view.activities[activity];
        if (figures) for (const scenario of SCENARIOS) g.set({ activity, scenario }, figures.margin_usd[scenario]);
      }
    },
  );
  gauge(
    'potencia_site_forward_one_more_megawatt_margin_usd',
    'Margin in USD over the forward horizon of one more MW of ASICs at the median J/TH of the measured miners the plan runs, by BTC price scenario.',
    ['scenario'],
    (g) => {
      const mw = economics.forecast()?.one_more_mw_mining;
      if (mw) for (const scenario of SCENARIOS) g.set({ scenario }, mw.margin_usd[scenario]);
    },
  );
  gauge(
    'potencia_site_value_of_one_more_megawatt_usd_per_day',
    "Margin per day one more megawatt would earn, by activity, built from the fleet's median machine at today's prices.",
    ['activity'],
    (g) => {
      const mw = plan()?.one_more_mw;
      if (!mw) return;
      for (const activity of ACTIVITIES) {
        const value = mw[activity];
        if (value) g.set({ activity }, value.margin_usd_per_day);
      }
    },
  );
}
