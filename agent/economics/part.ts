import { Gauge, type Registry } from 'prom-client';
import type { EconomicsConfig } from '../../config/economics-schema.js';
import type { Config } from '../../config/schema.js';
import type { AgentContext, AgentPart } from '../daemon.js';
import type { DeviceSnapshot } from '../snapshot.js';
import type { DeviceStore } from '../state.js';
import { assessDevice } from './assess.js';
import { EconomicInputsProvider, hashpriceFrom, type EconomicInputs, type EconomicInputsProviderOptions } from './inputs.js';
import { planSite } from './plan.js';
import { ACTIVITIES, type DeviceAssessment, type InputName, type PlannedDevice, type SitePlan } from './types.js';

/** How often every device is re-assessed: prices move slowly, devices are polled every 15-60 s. */
export const DEFAULT_ASSESS_INTERVAL_MS = 15_000;
/** A device seen for the first time is assessed this soon, batched with the rest of its poll round. */
export const NEW_DEVICE_DELAY_MS = 1_000;

/** One device's economics as the exporters read it: its assessment and its place in the site plan. */
export interface DeviceEconomics {
  readonly assessment: DeviceAssessment;
  /** Absent until the first plan that includes the device. */
  readonly planned?: PlannedDevice;
}

/** What the /metrics renderer reads: per-device economics, with a version bumped on every re-assessment. */
export interface DeviceEconomicsSource {
  readonly version: number;
  get(deviceId: string): DeviceEconomics | undefined;
}

/** The demand-response and power-price signals, as the MQTT part offers them (exporters/mqtt/signals.ts). */
export interface EconomicSignalSource {
  current(nowMs?: number): {
    readonly demand_response?: { readonly curtail: boolean; readonly target_kw?: number };
    readonly power_price?: { readonly usd_per_kwh: number };
  };
  onChange(listener: (signals: unknown) => void): () => void;
}

export type AssessmentListener = (deviceIds: readonly string[] | undefined) => void;

export interface EconomicsPartOptions {
  /** Re-assessment interval; DEFAULT_ASSESS_INTERVAL_MS by default. */
  intervalMs?: number;
  /** Clock for inputs and assessments; Date.now by default. */
  now?: () => number;
  /** Passed to the EconomicInputsProvider (fetch timeouts). */
  provider?: Omit<EconomicInputsProviderOptions, 'now'>;
}

/** Every input reading a series is exported for, in a stable order. */
const INPUT_NAMES: readonly InputName[] = ['btc_price_usd', 'difficulty', 'fees_per_block_btc', 'block_height', 'subsidy_btc', 'power_price_usd_per_kwh'];

/**
 * The economics agent part: runs the live inputs, re-assesses every device in the store on an
 * interval, plans the site under its power cap, and keeps the result for /metrics, MQTT and the API.
 * Overrides (a demand-response cap, a power price pushed over MQTT) apply from the next round, which
 * they trigger at once.
 */
export class EconomicsPart implements AgentPart, DeviceEconomicsSource {
  readonly name = 'economics';
  #config: EconomicsConfig;
  /** False after a reload removed the economics section: nothing is assessed until one comes back. */
  #enabled = true;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #providerOptions: Omit<EconomicInputsProviderOptions, 'now'>;
  #provider: EconomicInputsProvider;
  #store: DeviceStore | undefined;
  /** Told when a round ends, so /metrics renders the new assessments then rather than at the next scrape. */
  #metrics: AgentContext['metrics'] | undefined;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #unsubscribeStore: (() => void) | undefined;
  #gauges: string[] = [];
  #registry: Registry | undefined;
  #unregister: (() => void) | undefined;
  #economics = new Map<string, DeviceEconomics>();
  #plan: SitePlan | undefined;
  #inputs: EconomicInputs | undefined;
  #version = 0;
  #powerPriceOverride: number | undefined;
  #capOverrideKw: number | undefined;
  readonly #listeners = new Set<AssessmentListener>();
  #onListenerError: (err: unknown) => void = (err) => process.emitWarning(`economics listener threw: ${err instanceof Error ? err.message : String(err)}`);

  constructor(config: EconomicsConfig, opts: EconomicsPartOptions = {}) {
    this.#config = config;
    this.#intervalMs = opts.intervalMs ?? DEFAULT_ASSESS_INTERVAL_MS;
    this.#now = opts.now ?? Date.now;
    this.#providerOptions = opts.provider ?? {};
    this.#provider = this.#newProvider(config);
  }

  /** Bumped by every assessment round. */
  get version(): number {
    return this.#version;
  }

  get(deviceId: string): DeviceEconomics | undefined {
    return this.#economics.get(deviceId);
  }

  /** The latest assessment of a device; undefined before its first round or after it left the store. */
  assessment(deviceId: string): DeviceAssessment | undefined {
    return this.#economics.get(deviceId)?.assessment;
  }

  /** Every latest assessment, in store order. */
  assessments(): DeviceAssessment[] {
    return [...this.#economics.values()].map((e) => e.assessment);
  }

  sitePlan(): SitePlan | undefined {
    return this.#plan;
  }

  /** The inputs the latest round used (overrides applied). */
  inputs(): EconomicInputs | undefined {
    return this.#inputs;
  }

  /** Called after each round with the devices whose recommendation, activity, staleness or plan changed; undefined: all may have. */
  onChange(listener: AssessmentListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** A power price that wins over the configured one (USD/kWh; may be negative), or undefined to drop it. */
  setPowerPriceOverride(usdPerKwh: number | undefined): void {
    if (usdPerKwh === this.#powerPriceOverride) return;
    this.#powerPriceOverride = usdPerKwh;
    if (this.#store) this.assessNow();
  }

  /** A site cap from demand response (kW); the lower of it and site_power_cap_kw applies. Undefined drops it. */
  setCapOverrideKw(kw: number | undefined): void {
    if (kw === this.#capOverrideKw) return;
    this.#capOverrideKw = kw;
    if (this.#store) this.assessNow();
  }

  /**
   * Follows MQTT signals: a demand-response `curtail: true` caps the site at its `target_kw` (0 without
   * one), `curtail: false` or no signal lifts it; a power-price signal overrides the price.
   */
  followSignals(source: EconomicSignalSource): () => void {
    const apply = () => {
      const { demand_response: dr, power_price: price } = source.current(this.#now());
      this.#capOverrideKw = dr?.curtail ? (dr.target_kw ?? 0) : undefined;
      this.#powerPriceOverride = price?.usd_per_kwh;
      if (this.#store) this.assessNow();
    };
    apply();
    return source.onChange(apply);
  }

  start(ctx: AgentContext): void {
    this.#store = ctx.store;
    this.#metrics = ctx.metrics;
    this.#onListenerError = (err) => ctx.logger.error({ err }, 'economics listener threw');
    this.#registerSiteMetrics(ctx);
    ctx.metrics.deviceEconomics = this;
    this.#unregister = () => {
      if (ctx.metrics.deviceEconomics === this) ctx.metrics.deviceEconomics = undefined;
    };
    this.#provider.start();
    this.#unsubscribeStore = ctx.store.onChange((change) => {
      if (change.type === 'upsert' && judgeabilityChanged(change.previous?.snapshot, change.device.snapshot)) this.#assessSoon();
    });
    this.assessNow();
    this.#timer = setInterval(() => this.assessNow(), this.#intervalMs);
    this.#timer.unref();
  }

  /** A new device, or one that went up or down or gained its power reading, waits NEW_DEVICE_DELAY_MS, not a whole interval. */
  #assessSoon(): void {
    if (this.#soon !== undefined || this.#timer === undefined) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.assessNow();
    }, NEW_DEVICE_DELAY_MS);
    this.#soon.unref();
  }

  /** A reload: new figures or sources replace the provider (live values are fetched again); removal stops economics. */
  applyConfig(config: Config): void {
    const next = config.economics;
    if (this.#enabled && JSON.stringify(next) === JSON.stringify(this.#config)) return;
    this.#provider.stop();
    this.#enabled = next !== undefined;
    if (!next) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      clearTimeout(this.#soon);
      this.#soon = undefined;
      this.#economics = new Map();
      this.#plan = undefined;
      this.#inputs = undefined;
      this.#version++;
      this.#emit(undefined);
      return;
    }
    this.#config = next;
    this.#provider = this.#newProvider(next);
    this.#provider.start();
    if (this.#store && this.#timer === undefined) {
      this.#timer = setInterval(() => this.assessNow(), this.#intervalMs);
      this.#timer.unref();
    }
    if (this.#store) this.assessNow();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#soon);
    this.#soon = undefined;
    this.#unsubscribeStore?.();
    this.#unsubscribeStore = undefined;
    this.#provider.stop();
    this.#unregister?.();
    this.#unregister = undefined;
    for (const name of this.#gauges) this.#registry?.removeSingleMetric(name);
    this.#gauges = [];
    this.#store = undefined;
    this.#metrics = undefined;
  }

  /** Waits for every live input's first answer (the CLI's one-shot use); a failed fetch leaves it missing. */
  async refreshInputs(): Promise<void> {
    await this.#provider.refreshAll();
  }

  /** One round: reads the inputs, assesses every stored device, plans the site. Never throws for a device. */
  assessNow(store: DeviceStore | undefined = this.#store): void {
    if (!store || !this.#enabled) return;
    const inputs = this.readInputs();
    const previous = this.#economics;
    const assessments: DeviceAssessment[] = [];
    for (const snapshot of store.values()) assessments.push(assessDevice(snapshot, inputs));
    const plan = planSite(assessments, inputs.site_power_cap_kw);
    const plannedById = new Map(plan.devices.map((d) => [d.device_id, d]));
    const next = new Map<string, DeviceEconomics>();
    const changed: string[] = [];
    for (const assessment of assessments) {
      const planned = plannedById.get(assessment.device_id);
      const entry: DeviceEconomics = planned ? { assessment, planned } : { assessment };
      next.set(assessment.device_id, entry);
      const before = previous.get(assessment.device_id);
      if (!before || decisionChanged(before, entry)) changed.push(assessment.device_id);
    }
    for (const id of previous.keys()) if (!next.has(id)) changed.push(id);
    this.#economics = next;
    this.#plan = plan;
    this.#inputs = inputs;
    const first = this.#version === 0;
    this.#version++;
    this.#metrics?.economicsRound();
    if (first) this.#emit(undefined);
    else if (changed.length > 0) this.#emit(changed);
  }

  /** The inputs now, with the overrides applied. */
  readInputs(): EconomicInputs {
    const inputs = this.#provider.read(this.#now());
    if (this.#powerPriceOverride !== undefined) inputs.power_price_usd_per_kwh = { value: this.#powerPriceOverride, origin: 'override', stale: false };
    if (this.#capOverrideKw !== undefined) {
      inputs.site_power_cap_kw = Math.min(this.#capOverrideKw, inputs.site_power_cap_kw ?? Infinity);
    }
    return inputs;
  }

  #newProvider(config: EconomicsConfig): EconomicInputsProvider {
    return new EconomicInputsProvider(config, { ...this.#providerOptions, now: this.#now });
  }

  #emit(ids: readonly string[] | undefined): void {
    for (const listener of this.#listeners) {
      try {
        listener(ids);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }

  /** Site-level series, read at scrape time from the latest round (a handful of series: prom-client is fine). */
  #registerSiteMetrics(ctx: AgentContext): void {
    const registers = [ctx.metrics.registry];
    this.#registry = ctx.metrics.registry;
    const part = this;
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
      this.#gauges.push(name);
    };
    const inputs = () => part.#inputs;
    const plan = () => part.#plan;

    gauge('potencia_hashprice_usd_per_terahash_day', 'Hashprice: expected USD one TH/s earns per day at the current BTC price, difficulty, subsidy and fees, after the pool fee.', [], (g) => {
      const i = inputs();
      const hashprice = i && hashpriceFrom(i);
      if (hashprice && 'usd_per_th_day' in hashprice) g.set(hashprice.usd_per_th_day);
    });
    gauge('potencia_power_price_usd_per_kwh', 'Power price in force now, in USD per kWh (an MQTT override wins over the config).', [], (g) => {
      const price = inputs()?.power_price_usd_per_kwh;
      if (price) g.set(price.value);
    });
    gauge('potencia_bitcoin_price_usd', 'BTC price in USD the economics use.', [], (g) => {
      const price = inputs()?.btc_price_usd;
      if (price) g.set(price.value);
    });
    gauge('potencia_bitcoin_difficulty', 'Bitcoin network difficulty the economics use.', [], (g) => {
      const difficulty = inputs()?.difficulty;
      if (difficulty) g.set(difficulty.value);
    });
    gauge('potencia_economics_input_age_seconds', 'Seconds since a fetched economic input was last read successfully; absent for figures written in the config.', ['input'], (g) => {
      const i = inputs();
      if (!i) return;
      for (const name of INPUT_NAMES) {
        const age = i[name]?.age_ms;
        if (age !== undefined) g.set({ input: name }, age / 1000);
      }
    });
    gauge(
      'potencia_economics_input_stale',
      'Per economic input the config asks for: 1 when it is past its max_age or was never fetched (assessments using it are stale), else 0.',
      ['input'],
      (g) => {
        const i = inputs();
        if (!i) return;
        const expected = part.#expectedInputs();
        for (const name of INPUT_NAMES) {
          const reading = i[name];
          if (reading) g.set({ input: name }, reading.stale ? 1 : 0);
          else if (expected.has(name)) g.set({ input: name }, 1);
        }
      },
    );
    gauge(
      'potencia_economics_replace_drift_ratio',
      'economics.replace_drift_ratio: efficiency this much worse than nominal is grounds for replacement; alert rules compare potencia_device_efficiency_drift_ratio with it.',
      [],
      (g) => {
        const i = inputs();
        if (i) g.set(i.replace_drift_ratio);
      },
    );
    gauge('potencia_site_power_cap_watts', 'Most the site may draw, in watts: site_power_cap_kw, lowered by a demand-response signal.', [], (g) => {
      const cap = plan()?.cap_kw;
      if (cap !== undefined) g.set(cap * 1000);
    });
    gauge('potencia_site_planned_power_watts', 'Draw of the devices the site plan keeps running plus those it cannot judge, in watts.', [], (g) => {
      const p = plan();
      if (p) g.set(p.planned_kw * 1000);
    });
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
      'Revenue minus power cost per day under the site plan, by activity (mining, leasing, unassessed: the cost of devices that cannot be judged); the sum is the site\'s net.',
      ['activity'],
      (g) => {
        const p = plan();
        if (p) for (const activity of SITE_ACTIVITIES) g.set({ activity }, p.totals[activity].margin_usd_per_day);
      },
    );
    gauge(
      'potencia_site_value_of_one_more_megawatt_usd_per_day',
      'Margin per day one more megawatt would earn, by activity, built from the fleet\'s median machine at today\'s prices.',
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

  /** Inputs the config asks to be fetched: they count as stale while they have no value. */
  #expectedInputs(): Set<InputName> {
    const p = this.#provider;
    const names = new Set<InputName>();
    if (p.btcPrice) names.add('btc_price_usd');
    if (p.difficulty) names.add('difficulty');
    if (p.feesPerBlock) names.add('fees_per_block_btc');
    if (p.blockHeight) names.add('block_height').add('subsidy_btc');
    if (p.powerFeed) names.add('power_price_usd_per_kwh');
    return names;
  }
}

const SITE_ACTIVITIES = ['mining', 'leasing', 'unassessed'] as const;

/** True when a reading changes whether the device can be judged at all, not merely its numbers. */
function judgeabilityChanged(previous: DeviceSnapshot | undefined, next: DeviceSnapshot): boolean {
  return (
    previous === undefined ||
    previous.up !== next.up ||
    (previous.power_w === undefined) !== (next.power_w === undefined) ||
    (previous.hashrate_hs === undefined) !== (next.hashrate_hs === undefined)
  );
}

function decisionChanged(before: DeviceEconomics, after: DeviceEconomics): boolean {
  const a = before.assessment;
  const b = after.assessment;
  return a.recommendation !== b.recommendation || a.best_activity !== b.best_activity || a.stale !== b.stale || before.planned?.activity !== after.planned?.activity;
}

/** The factory agent/parts.ts registers: a part when the config has an `economics:` section. */
export function createEconomicsPart(config: Config): EconomicsPart | undefined {
  return config.economics ? new EconomicsPart(config.economics) : undefined;
}
