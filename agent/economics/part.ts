import { parseHorizonDays, type EconomicsConfig } from '../../config/economics-schema.js';
import type { Config } from '../../config/schema.js';
import type { AssessmentListener, DeviceEconomics, EconomicSignalSource, EconomicsFigures, EconomicsReader } from '../contracts/economics.js';
import type { AgentContext, AgentPart, ClusterView, DeviceStoreView, SelfMetricFamily, SiteReadings } from '../contracts/part.js';
import type { Logger } from '../log.js';
import type { DeviceSnapshot } from '../snapshot.js';
import { assessDevice, gpuNodePower, powerCostUsdPerDay } from './assess.js';
import { forecast } from './forecast.js';
import { EconomicInputsProvider, hashpriceFrom, type EconomicInputs, type EconomicInputsProviderOptions } from './inputs.js';
import { planSite, rememberPlan, type PlanMemory } from './plan.js';
import type { DeviceAssessment, Forecast, InputName, SitePlan } from './types.js';

/** How often every device is re-assessed: prices move slowly, devices are polled every 15-60 s. */
export const DEFAULT_ASSESS_INTERVAL_MS = 15_000;
/** A device seen for the first time is assessed this soon, batched with the rest of its poll round. */
export const NEW_DEVICE_DELAY_MS = 1_000;

export interface EconomicsPartOptions {
  /** Re-assessment interval; DEFAULT_ASSESS_INTERVAL_MS by default. */
  intervalMs?: number;
  /** Clock for inputs and assessments; Date.now by default. */
  now?: () => number;
  /** Passed to the EconomicInputsProvider (fetch timeouts). */
  provider?: Omit<EconomicInputsProviderOptions, 'now'>;
}

/** Plan changes quoted in the log per round; the rest are counted. */
const LOGGED_PLAN_CHANGES = 20;

/** Every input reading a series is exported for, in a stable order. */
const INPUT_NAMES: readonly InputName[] = ['btc_price_usd', 'difficulty', 'fees_per_block_btc', 'block_height', 'subsidy_btc', 'power_price_usd_per_kwh'];

/**
 * The economics agent part: runs the live inputs, re-assesses every device in the store on an
 * interval, plans the site under its power cap, and keeps the result for /metrics, MQTT and the API.
 * Overrides (a demand-response cap, a power price pushed over MQTT) apply from the next round, which
 * they trigger at once.
 */
export class EconomicsPart implements AgentPart, EconomicsReader {
  readonly name = 'economics';
  #config: EconomicsConfig;
  /** False after a reload removed the economics section: nothing is assessed until one comes back. */
  #enabled = true;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #providerOptions: Omit<EconomicInputsProviderOptions, 'now'>;
  #provider: EconomicInputsProvider;
  #store: DeviceStoreView | undefined;
  #cluster: ClusterView | undefined;
  #unsubscribeCluster: (() => void) | undefined;
  /** The site's readings: GPU servers' wall power for judging GPUs on whole-server power. */
  #site: (() => SiteReadings) | undefined;
  #logger: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #unsubscribeStore: (() => void) | undefined;
  #economics = new Map<string, DeviceEconomics>();
  #plan: SitePlan | undefined;
  /** In a split site, on an agent that does not plan: the planner's plan its devices' decisions came from. */
  #peerPlan: SitePlan | undefined;
  #forecast: Forecast | undefined;
  /** What the plan's hysteresis remembers from the previous round. */
  #planMemory: Map<string, PlanMemory> | undefined;
  #inputs: EconomicInputs | undefined;
  /** Wall time of the latest round and of its plan, in ms; undefined before the first (or on an agent that does not plan, the plan's). */
  #roundMs: number | undefined;
  #planMs: number | undefined;
  #version = 0;
  #powerPriceOverride: number | undefined;
  #capOverrideKw: number | undefined;
  readonly #listeners = new Set<AssessmentListener>();
  /** Told when any round ends, so /metrics renders the new assessments then rather than at the next scrape. */
  readonly #roundListeners = new Set<() => void>();
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

  /** The plan this agent made: undefined on an agent of a split site that does not plan, so only the planner exports the site's figures. */
  sitePlan(): SitePlan | undefined {
    return this.#plan;
  }

  /** The site plan as this agent knows it (/api/plan): its own, or the one its latest round took from the agent that plans. */
  knownSitePlan(): SitePlan | undefined {
    return this.#plan ?? this.#peerPlan;
  }

  forecast(): Forecast | undefined {
    return this.#forecast;
  }

  /** The inputs the latest round used (overrides applied). */
  inputs(): EconomicInputs | undefined {
    return this.#inputs;
  }

  figures(): EconomicsFigures | undefined {
    const inputs = this.#inputs;
    if (!inputs) return undefined;
    const figures: EconomicsFigures = { replace_drift_ratio: inputs.replace_drift_ratio, inputs: this.#inputStatus(inputs) };
    const hashprice = hashpriceFrom(inputs);
    if ('usd_per_th_day' in hashprice) figures.hashprice_usd_per_th_day = hashprice.usd_per_th_day;
    if (inputs.power_price_usd_per_kwh) figures.power_price_usd_per_kwh = inputs.power_price_usd_per_kwh.value;
    if (inputs.btc_price_usd) figures.btc_price_usd = inputs.btc_price_usd.value;
    if (inputs.difficulty) figures.difficulty = inputs.difficulty.value;
    return figures;
  }

  onRound(listener: () => void): () => void {
    this.#roundListeners.add(listener);
    return () => {
      this.#roundListeners.delete(listener);
    };
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
    this.#cluster = ctx.cluster;
    // The other agents' devices arrive once per cluster round: the plan follows them then.
    this.#unsubscribeCluster = ctx.cluster?.onRound(() => this.#assessSoon());
    this.#site = () => ctx.site();
    this.#logger = ctx.logger;
    for (const family of this.#families()) ctx.selfMetrics.add(family);
    this.#onListenerError = (err) => ctx.logger.error({ err }, 'economics listener threw');
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
      this.#forget();
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
    this.#unsubscribeCluster?.();
    this.#unsubscribeCluster = undefined;
    this.#cluster = undefined;
    this.#provider.stop();
    this.#store = undefined;
    this.#site = undefined;
    this.#forget();
  }

  /** No assessments, plan or inputs: exporters show no economics until a round runs again. */
  #forget(): void {
    this.#economics = new Map();
    this.#plan = undefined;
    this.#peerPlan = undefined;
    this.#forecast = undefined;
    this.#planMemory = undefined;
    this.#inputs = undefined;
    this.#roundMs = undefined;
    this.#planMs = undefined;
    this.#version++;
    this.#emitRound();
  }

  /** Waits for every live input's first answer (the CLI's one-shot use); a failed fetch leaves it missing. */
  async refreshInputs(): Promise<void> {
    await this.#provider.refreshAll();
  }

  /**
   * One round: reads the inputs, assesses every stored device, plans the site. Never throws for a device.
   * In a site split across agents, the agent that plans adds the other agents' devices to the plan (their
   * assessments stay with their own agents); the others plan nothing and take their devices' decisions
   * from the plan they read from it.
   */
  assessNow(store: DeviceStoreView | undefined = this.#store): void {
    if (!store || !this.#enabled) return;
    const startedAt = performance.now();
    const inputs = this.readInputs();
    const previous = this.#economics;
    const assessments: DeviceAssessment[] = [];
    const walls = new Map((this.#site?.().nodes ?? []).flatMap((n) => (n.wallPowerW === undefined ? [] : [[n.node, n.wallPowerW] as const])));
    const gpuNodes = gpuNodePower(store.values(), (node) => walls.get(node));
    for (const snapshot of store.values()) assessments.push(assessDevice(snapshot, inputs, { gpuNodes }));
    const local = assessments.length;
    const cluster = this.#cluster;
    if (cluster) for (const snapshot of cluster.devices()) if (!store.get(snapshot.id)) assessments.push(assessDevice(snapshot, inputs, { gpuNodes }));
    const nowMs = this.#now();
    const planStartedAt = performance.now();
    // In a split site only the planning agent plans, from every agent's devices (agent/cluster.ts).
    const plan =
      !cluster || cluster.plans()
        ? planSite(cluster ? withLostDraw(assessments, cluster.lostDraw(), inputs.power_price_usd_per_kwh?.value) : assessments, inputs.site_power_cap_kw, {
            hysteresis: this.#config.plan,
            previous: this.#planMemory,
            nowMs,
          })
        : undefined;
    if (plan) this.#planMemory = rememberPlan(plan, this.#planMemory, nowMs);
    this.#planMs = plan ? performance.now() - planStartedAt : undefined;
    // An agent that does not plan reports the planner's decision for the devices it polls itself; the
    // planner reports only its own store's, so each device's planned state comes from one agent.
    const peerPlan = plan ? undefined : cluster?.sitePlan();
    // Remembered as if made here: should the planner be lost, this agent's first plan keeps its hysteresis.
    if (peerPlan) this.#planMemory = rememberPlan(peerPlan, this.#planMemory, nowMs);
    const decided = plan ?? peerPlan;
    const plannedById = new Map(decided?.devices.map((d) => [d.device_id, d]));
    const next = new Map<string, DeviceEconomics>();
    const changed: string[] = [];
    const forward = decided && this.#forwardView(assessments, decided, inputs);
    const forwardById = new Map(forward?.devices.map((d) => [d.device_id, d]));
    for (const assessment of assessments.slice(0, local)) {
      const planned = plannedById.get(assessment.device_id);
      const ahead = forwardById.get(assessment.device_id);
      // One shape for every entry, absent parts undefined: the renderer reads 10,000 of them per round.
      const entry: DeviceEconomics = { assessment, planned, forward: ahead };
      next.set(assessment.device_id, entry);
      const before = previous.get(assessment.device_id);
      if (!before || decisionChanged(before, entry)) changed.push(assessment.device_id);
    }
    for (const id of previous.keys()) if (!next.has(id)) changed.push(id);
    this.#economics = next;
    this.#plan = plan;
    this.#peerPlan = peerPlan;
    // The forward view's site figures sum what the plan runs: only the planner's cover the whole site.
    this.#forecast = plan && forward;
    if (plan && plan.changes.length > 0) {
      // Bounded: a price swing can move thousands of devices; the count says how many, the first few why.
      const shown = plan.changes.slice(0, LOGGED_PLAN_CHANGES);
      this.#logger?.info({ changed: plan.changes.length, changes: shown }, 'site plan changed');
    }
    this.#inputs = inputs;
    this.#roundMs = performance.now() - startedAt;
    const first = this.#version === 0;
    this.#version++;
    this.#emitRound();
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

  #forwardView(assessments: readonly DeviceAssessment[], plan: SitePlan, inputs: EconomicInputs): Forecast | undefined {
    const config = this.#config.forecast;
    if (!config) return undefined;
    const view = forecast(assessments, plan, inputs, config, parseHorizonDays(config.horizon)!);
    return 'missing' in view ? undefined : view;
  }

  #newProvider(config: EconomicsConfig): EconomicInputsProvider {
    return new EconomicInputsProvider(config, { ...this.#providerOptions, now: this.#now });
  }

  #emitRound(): void {
    for (const listener of this.#roundListeners) {
      try {
        listener();
      } catch (err) {
        this.#onListenerError(err);
      }
    }
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

  /** How long the rounds take, for the operator sizing a site and for bench/fleet.ts. */
  #families(): SelfMetricFamily[] {
    const seconds = (ms: number | undefined) => (ms === undefined ? [] : [{ value: ms / 1000 }]);
    return [
      {
        name: 'potencia_economics_round_duration_seconds',
        help: 'Wall time of the latest economics round: assess every device, plan the site (on the agent that plans it), the forward view.',
        type: 'gauge',
        samples: () => seconds(this.#roundMs),
      },
      {
        name: 'potencia_economics_plan_duration_seconds',
        help: 'Wall time of the site plan in the latest economics round; absent on an agent of a split site that does not plan.',
        type: 'gauge',
        samples: () => seconds(this.#planMs),
      },
    ];
  }

  /** Every input the round read, in a stable order; one the config asks for but that has no value yet is stale. */
  #inputStatus(inputs: EconomicInputs): EconomicsFigures['inputs'] {
    const expected = this.#expectedInputs();
    const status: { name: InputName; age_s?: number; stale: boolean }[] = [];
    for (const name of INPUT_NAMES) {
      const reading = inputs[name];
      if (reading) status.push({ name, stale: reading.stale, ...(reading.age_ms !== undefined && { age_s: reading.age_ms / 1000 }) });
      else if (expected.has(name)) status.push({ name, stale: true });
    }
    return status;
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

/**
 * The plan's view of the devices of a lost agent: reported down, yet most likely still drawing what they
 * drew when last read, so they go into the plan as unassessed load at that draw, which comes off the cap.
 */
/** A lost agent's devices as fixed load: their last metered draw, and its cost at the price now (the plan counts drawing load by its cost). */
function withLostDraw(assessments: DeviceAssessment[], lostDraw: ReadonlyMap<string, number>, usdPerKwh: number | undefined): DeviceAssessment[] {
  if (lostDraw.size === 0) return assessments;
  return assessments.map((a) => {
    const watts = lostDraw.get(a.device_id);
    if (watts === undefined || a.up) return a;
    const { recommendation: _none, ...rest } = a;
    const cost = usdPerKwh === undefined ? {} : { power_cost_usd_per_day: powerCostUsdPerDay(watts, usdPerKwh) };
    return { ...rest, ...cost, up: true, power_w: watts, reason: `its agent is lost; counted at its last metered draw, ${Math.round(watts)} W` };
  });
}

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
