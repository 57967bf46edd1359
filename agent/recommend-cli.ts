/**
 * `potencia recommend`: poll once, assess every device, plan the site, print it. Loaded only when the
 * command runs; agent/cli.ts parses the options.
 */
import { createCollector } from '../collectors/registry.js';
import type { Target } from '../collectors/contract.js';
import { economicsSchema, parseHorizonDays, type EconomicsConfig } from '../config/economics-schema.js';
import { loadConfigFile } from '../config/load.js';
import type { PowerSettings } from '../config/power-schema.js';
import { configSchema, type Config } from '../config/schema.js';
import { demoEconomics } from './economics/demo.js';
import { assessDevices, gpuNodePower, isMeasuredPower } from './economics/assess.js';
import { EconomicInputsProvider, hashpriceFrom, type EconomicInputs } from './economics/inputs.js';
import { forecast } from './economics/forecast.js';
import { planSite } from './economics/plan.js';
import { SCENARIOS, type DeviceAssessment, type Forecast, type ForwardFigures, type SitePlan } from './economics/types.js';
import { snapshotLimitsOf } from '../collectors/ranges.js';
import { defaultDeadlineMs, pollOnce } from './poll-once.js';
import { enrichSnapshot } from './enrich.js';
import { PowerAttribution } from './power.js';
import type { DeviceSnapshot } from './snapshot.js';
import { DeviceStore } from './state.js';
import { formatTable, left, right } from './table.js';
import { buildTargets } from './targets.js';

export interface RecommendCommand {
  /** Without one, a small simulated farm with the demo economics. */
  configPath?: string;
  json: boolean;
  /** Overall deadline of the polls; default from the targets' timeouts and the concurrency. */
  deadlineMs?: number;
  /** The forward view's horizon, e.g. "12mo", "90d". */
  horizon?: string;
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The built-in farm `recommend` runs on without --config: big enough to show every action, quick to poll. */
const SAMPLE_FARM_MINERS = 16;

export interface Recommendations {
  inputs: EconomicInputs;
  devices: DeviceAssessment[];
  site: SitePlan;
  /** With --horizon. */
  forecast?: Forecast;
}

export async function runRecommendCommand(command: RecommendCommand, io: Io): Promise<number> {
  const horizonDays = command.horizon === undefined ? undefined : parseHorizonDays(command.horizon);
  if (command.horizon !== undefined && horizonDays === undefined) {
    io.err(`potencia recommend: --horizon "${command.horizon}" is not a horizon like 12mo, 90d or 2y (1 day to 10 years)`);
    return 2;
  }
  let snapshots: DeviceSnapshot[];
  let economics: EconomicsConfig;
  let source: string;
  let power: PowerSettings | undefined;
  if (command.configPath !== undefined) {
    const config = loadConfigFile(command.configPath);
    if (!config.economics) {
      io.err(`potencia recommend: ${command.configPath} has no economics: section (prices, power price, lease rates); see config/potencia.example.yaml`);
      return 2;
    }
    economics = config.economics;
    if (horizonDays !== undefined && !economics.forecast) {
      io.err(`potencia recommend: --horizon needs an economics.forecast section (btc_price_usd p10 / p50 / p90, difficulty_growth_per_epoch) in ${command.configPath}`);
      return 2;
    }
    snapshots = await pollTargets(buildTargets(config), config, command.deadlineMs);
    power = config.power;
    source = `${command.configPath}: ${snapshots.length} device(s)`;
  } else {
    const { startFarm } = await import('../simulator/farm.js');
    const farm = await startFarm({ devices: SAMPLE_FARM_MINERS, seed: 1, mode: 'port', port: 0 });
    try {
      const nameplateKw = farm.miners.reduce((kw, m) => kw + m.model.nominal_power_w / 1000, 0);
      economics = economicsSchema.parse(demoEconomics(nameplateKw));
      const config = configSchema.parse({ targets: farm.miners.map((m) => ({ url: m.url })) });
      snapshots = await pollTargets(buildTargets(config), config, command.deadlineMs);
    } finally {
      await farm.stop();
    }
    source = `a simulated farm of ${SAMPLE_FARM_MINERS} miners with the demo economics (give --config FILE for yours)`;
  }

  const result = await recommend(snapshots, economics, power);
  if (horizonDays !== undefined) {
    const view = forecast(result.devices, result.site, result.inputs, economics.forecast!, horizonDays);
    if ('missing' in view) {
      io.err(`potencia recommend: ${view.missing}`);
      return 1;
    }
    result.forecast = view;
  }
  io.out(command.json ? JSON.stringify(result, null, 2) : formatRecommendations(result, source));
  return 0;
}

/**
 * Assesses snapshots once: live inputs are fetched once first (a failed fetch leaves that figure missing,
 * and says so). PDU outlets mapped in `power:` give their devices metered watts, as in the agent.
 */
export async function recommend(snapshots: readonly DeviceSnapshot[], economics: EconomicsConfig, power?: PowerSettings): Promise<Recommendations> {
  const provider = new EconomicInputsProvider(economics);
  await provider.refreshAll();
  const inputs = provider.read();
  const attribution = new PowerAttribution(power);
  const store = new DeviceStore();
  for (const s of snapshots) store.upsert(enrichSnapshot(attribution.attribute(s)));
  attribution.afterRecord(snapshots, store, enrichSnapshot);
  const walls = new Map(attribution.siteReadings(store).nodes.flatMap((n) => (n.wallPowerW === undefined ? [] : [[n.node, n.wallPowerW] as const])));
  const attributed = [...store.values()];
  const devices = assessDevices(attributed, inputs, { gpuNodes: gpuNodePower(attributed, (node) => walls.get(node)) });
  const site = planSite(devices, inputs.site_power_cap_kw);
  return { inputs, devices, site };
}

async function pollTargets(targets: readonly Target[], config: Config, deadlineMs: number | undefined): Promise<DeviceSnapshot[]> {
  const options = { maxResponseBytes: config.polling.max_response_bytes, snmpSettings: () => config.snmp, minerCredentials: () => config.miner_credentials };
  return pollOnce(targets, {
    concurrency: config.polling.concurrency,
    deadlineMs: deadlineMs ?? defaultDeadlineMs(targets, config.polling.concurrency),
    collectorFor: (target) => createCollector(target, options),
    limits: snapshotLimitsOf(config),
  });
}

function bestMargin(a: DeviceAssessment): number | undefined {
  return a.best_activity === undefined ? undefined : a.margin_usd_per_day[a.best_activity];
}

/** Where the watts came from; an estimate or a nameplate figure is marked so it never reads as measured. */
function powerSource(a: DeviceAssessment): string {
  if (a.power_source === undefined) return '-';
  return isMeasuredPower(a.power_source) ? a.power_source : `${a.power_source} (not measured)`;
}

function money(x: number | undefined): string {
  return x === undefined ? '-' : x.toFixed(2);
}

function fixed(x: number | undefined, digits: number, scale = 1): string {
  return x === undefined ? '-' : (x / scale).toFixed(digits);
}

/** Devices by best margin (highest first; unassessed last), then the site totals and the plan under the cap. */
export function formatRecommendations(result: Recommendations, source: string): string {
  const { inputs, devices, site } = result;
  const sorted = [...devices].sort((x, y) => (bestMargin(y) ?? -Infinity) - (bestMargin(x) ?? -Infinity) || (x.device_id < y.device_id ? -1 : 1));
  const planned = new Map(site.devices.map((d) => [d.device_id, d]));
  const columns = [
    left('DEVICE'),
    left('MODEL'),
    right('TH/s'),
    right('W'),
    left('POWER'),
    right('J/TH'),
    right('DRIFT'),
    right('REVENUE/d'),
    right('COST/d'),
    right('MARGIN/d'),
    right('BREAK-EVEN $/kWh'),
    right('PAYBACK d'),
    left('ACTION'),
    left('PLAN'),
    left('REASON'),
  ];
  const rows = sorted.map((a) => {
    const best = a.best_activity;
    const plan = planned.get(a.device_id);
    return [
      a.device_id,
      a.model ?? '-',
      fixed(a.hashrate_hs, 2, 1e12),
      fixed(a.power_w, 0),
      powerSource(a),
      fixed(a.efficiency_j_per_th, 1),
      a.efficiency_drift_ratio === undefined ? '-' : `${a.efficiency_drift_ratio >= 0 ? '+' : ''}${Math.round(a.efficiency_drift_ratio * 100)}%`,
      money(best && a.revenue_usd_per_day[best]),
      money(a.power_cost_usd_per_day),
      money(bestMargin(a)),
      fixed(a.break_even_usd_per_kwh, 3),
      fixed(a.replacement?.payback_days, 0),
      a.recommendation ?? '-',
      plan ? (plan.curtailed_by_cap ? 'curtailed (cap)' : plan.activity) : '-',
      a.reason,
    ];
  });

  const lines = [`Economics for ${source}`, describeInputs(inputs), '', formatTable(columns, rows), ''];
  const counts = new Map<string, number>();
  for (const a of devices) {
    if (a.metering_only) continue;
    counts.set(a.recommendation ?? 'unassessed', (counts.get(a.recommendation ?? 'unassessed') ?? 0) + 1);
  }
  lines.push(`Recommendations: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`);

  const totalsColumns = [left('PLAN'), right('DEVICES'), right('kW'), right('REVENUE/d'), right('COST/d'), right('MARGIN/d')];
  const totalsRows = Object.entries(site.totals)
    .filter(([, t]) => t.count > 0)
    .map(([activity, t]) => [
      activity === 'curtailed' ? 'curtailed (if run)' : activity,
      String(t.count),
      t.power_kw.toFixed(1),
      money(t.revenue_usd_per_day),
      money(t.power_cost_usd_per_day),
      money(t.margin_usd_per_day),
    ]);
  lines.push('', formatTable(totalsColumns, totalsRows));
  const net = site.totals.mining.margin_usd_per_day + site.totals.leasing.margin_usd_per_day + site.totals.unassessed.margin_usd_per_day;
  const byCap = site.devices.filter((d) => d.curtailed_by_cap).length;
  lines.push(
    '',
    site.cap_kw === undefined
      ? `Site: ${site.planned_kw.toFixed(1)} kW planned, no cap configured; net margin $${net.toFixed(2)}/day`
      : `Site: ${site.planned_kw.toFixed(1)} kW planned under a ${site.cap_kw} kW cap (headroom ${site.headroom_kw!.toFixed(1)} kW, ${byCap} device(s) curtailed for the cap); net margin $${net.toFixed(2)}/day`,
  );
  const optimality = site.optimality;
  if (optimality) {
    lines.push(
      `Plan under the cap: margin $${optimality.margin_usd_per_day.toFixed(2)}/day, at most $${optimality.gap_usd_per_day.toFixed(2)}/day below the best possible (LP bound $${optimality.upper_bound_usd_per_day.toFixed(2)}/day)`,
    );
  }
  for (const change of site.changes) lines.push(`Changed: ${change.device_id} ${change.from} → ${change.to}: ${change.reason}`);
  for (const activity of ['mining', 'leasing'] as const) {
    const mw = site.one_more_mw[activity];
    if (mw) lines.push(`One more MW ${activity}: margin $${mw.margin_usd_per_day.toFixed(0)}/day (${mw.basis})`);
  }
  if (!site.one_more_mw.mining && site.totals.mining.count > 0) lines.push('One more MW mining: not valued, no ASIC the plan runs has measured watts (map PDU outlets to them)');
  if (site.stale) lines.push('Warning: some inputs are stale; see the [stale: …] reasons.');
  if (result.forecast) lines.push('', ...formatForecast(result.forecast));
  return lines.join('\n');
}

/** The forward table: per device, per activity the plan runs, and one more MW, by price scenario. */
function formatForecast(view: Forecast): string[] {
  const p = view.btc_price_usd;
  const dollars = (x: number) => `$${Math.round(x).toLocaleString('en-US')}`;
  const columns = [left('FORWARD'), left('ACTIVITY'), right('MARGIN P10'), right('MARGIN P50'), right('MARGIN P90'), right('BREAK-EVEN BTC')];
  const row = (name: string, activity: string, f: ForwardFigures) => [
    name,
    activity,
    ...SCENARIOS.map((s) => dollars(f.margin_usd[s])),
    f.break_even_btc_usd === undefined ? '-' : dollars(f.break_even_btc_usd),
  ];
  const rows = [...view.devices].sort((x, y) => y.margin_usd.p50 - x.margin_usd.p50).map((d) => row(d.device_id, d.activity, d));
  for (const activity of ['mining', 'leasing'] as const) {
    const f = view.activities[activity];
    if (f) rows.push(row('site plan', activity, f));
  }
  if (view.one_more_mw_mining) rows.push(row('one more MW', 'mining', view.one_more_mw_mining));
  return [
    `Forward view over ${view.horizon_days} days: difficulty ${view.difficulty_growth_per_epoch >= 0 ? '+' : ''}${(view.difficulty_growth_per_epoch * 100).toFixed(1)}% a 2,016-block epoch, ` +
      `halvings by block height, BTC P10 ${dollars(p.p10)} / P50 ${dollars(p.p50)} / P90 ${dollars(p.p90)}; leases at today's rates in every scenario`,
    formatTable(columns, rows),
  ];
}

function describeInputs(inputs: EconomicInputs): string {
  const parts: string[] = [];
  const hashprice = hashpriceFrom(inputs);
  if ('usd_per_th_day' in hashprice) parts.push(`hashprice $${(hashprice.usd_per_th_day * 1000).toFixed(2)}/PH/day`);
  if (inputs.btc_price_usd) parts.push(`BTC $${Math.round(inputs.btc_price_usd.value).toLocaleString('en-US')}`);
  if (inputs.difficulty) parts.push(`difficulty ${(inputs.difficulty.value / 1e12).toFixed(1)} T`);
  if (inputs.power_price_usd_per_kwh) parts.push(`power $${inputs.power_price_usd_per_kwh.value.toFixed(3)}/kWh`);
  for (const line of inputs.missing) parts.push(`missing ${line}`);
  return `Inputs at ${inputs.at}: ${parts.join(', ')}`;
}
