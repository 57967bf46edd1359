import type { EconomicsConfig, GpuModelEconomics, HashrateLease, ReplacementConfig } from '../../config/economics-schema.js';
import { blockSubsidyBtc, hashpriceUsdPerThDay } from './bitcoin.js';
import { timeOfUsePrice } from './power-price.js';
import { LiveInput, parseCoinGeckoBtcUsd, parseMempoolDifficulty, parseNumberAt, parseRewardStatsFeesPerBlock, parseTipHeight } from './sources.js';
import type { InputName } from './types.js';

/**
 * The figures one assessment round uses, read at one instant: each with where it came from and
 * whether it is stale. Snake_case with units, like the snapshot, because this too is reported
 * (CLI `--json`, `/api/...`).
 */

export interface InputReading {
  value: number;
  /** `config`: written in the config; `live`: fetched; `derived`: computed from other readings; `override`: pushed at runtime (MQTT). */
  origin: 'config' | 'live' | 'derived' | 'override';
  /** Past its max_age (a derived reading is stale when anything it came from is). */
  stale: boolean;
  age_ms?: number;
  /** The latest fetch error, when the last fetch failed (the value is then the last good one). */
  error?: string;
}

export interface EconomicInputs {
  /** ISO 8601 instant the readings are for. */
  at: string;
  btc_price_usd?: InputReading;
  difficulty?: InputReading;
  fees_per_block_btc?: InputReading;
  block_height?: InputReading;
  subsidy_btc?: InputReading;
  /** The pool's cut, 0.02 for 2%. */
  pool_fee_ratio: number;
  power_price_usd_per_kwh?: InputReading;
  /** Per GPU model name as configured. */
  gpu_models: Record<string, GpuModelEconomics>;
  /** A GPU server's draw beyond its GPUs when its outlet is not metered, W. */
  gpu_node_overhead_w: number;
  /** Selling ASIC hashrate on a marketplace, when configured. */
  hashrate_lease?: HashrateLease;
  /** 0.25: efficiency 25% worse than nominal is flagged. */
  replace_drift_ratio: number;
  /** Replacement options, the payback horizon and resale values; absent: no device is appraised for replacement. */
  replacement?: ReplacementConfig;
  site_power_cap_kw?: number;
  /** Figures that should be there but are not yet (never fetched): why, one line each. */
  missing: string[];
}

export interface Hashprice {
  usd_per_th_day: number;
  stale: boolean;
  /** The readings it was computed from that are stale. */
  stale_inputs: InputName[];
}

const HASHPRICE_INPUTS = ['btc_price_usd', 'difficulty', 'fees_per_block_btc', 'subsidy_btc'] as const;

/** Hashprice from the inputs, or the names of the readings it still lacks. */
export function hashpriceFrom(inputs: EconomicInputs): Hashprice | { missing: InputName[] } {
  const missing = HASHPRICE_INPUTS.filter((k) => inputs[k] === undefined);
  if (missing.length > 0) return { missing };
  const usd = hashpriceUsdPerThDay({
    priceUsd: inputs.btc_price_usd!.value,
    difficulty: inputs.difficulty!.value,
    subsidyBtc: inputs.subsidy_btc!.value,
    feesPerBlockBtc: inputs.fees_per_block_btc!.value,
    poolFeeRatio: inputs.pool_fee_ratio,
  });
  const staleInputs = HASHPRICE_INPUTS.filter((k) => inputs[k]!.stale);
  return { usd_per_th_day: usd, stale: staleInputs.length > 0, stale_inputs: [...staleInputs] };
}

/** mempool.space's reward-stats window: one day of blocks. */
export const FEE_WINDOW_BLOCKS = 144;

function mempoolBase(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api$/, '');
}

function fromConfig(value: number): InputReading {
  return { value, origin: 'config', stale: false };
}

function fromLive(input: LiveInput<number>, now: number): InputReading | undefined {
  if (input.value === undefined) return undefined;
  const reading: InputReading = { value: input.value, origin: 'live', stale: input.stale(now), age_ms: input.ageMs(now)! };
  if (input.lastError) reading.error = input.lastError;
  return reading;
}

function missingLine(input: LiveInput<number>): string {
  return `${input.name}: no value fetched yet${input.lastError ? ` (${input.lastError})` : ''}`;
}

export interface EconomicInputsProviderOptions {
  /** Per-fetch timeout; default the smaller of each interval and 10 s. */
  timeoutMs?: number;
  /** Clock for fetch times and `read()` without an argument; Date.now by default. */
  now?: () => number;
}

/**
 * Owns the live inputs the config asks for and reads everything into an EconomicInputs on demand.
 * `start()` begins fetching; `stop()` clears every timer. With an all-static config it fetches nothing.
 */
export class EconomicInputsProvider {
  readonly btcPrice: LiveInput<number> | undefined;
  readonly difficulty: LiveInput<number> | undefined;
  readonly blockHeight: LiveInput<number> | undefined;
  readonly feesPerBlock: LiveInput<number> | undefined;
  readonly powerFeed: LiveInput<number> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly config: EconomicsConfig,
    opts: EconomicInputsProviderOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    const common = { now: this.now, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) };
    const btc = config.bitcoin;
    if (btc?.price_source) {
      const s = btc.price_source;
      this.btcPrice = new LiveInput({
        ...common,
        name: 'bitcoin price',
        url: s.url,
        parse: parseCoinGeckoBtcUsd,
        intervalMs: s.interval,
        maxAgeMs: s.max_age ?? config.stale_after,
      });
    }
    if (btc?.source) {
      const s = btc.source;
      const base = mempoolBase(s.url);
      const shared = { ...common, intervalMs: s.interval, maxAgeMs: s.max_age ?? config.stale_after };
      if (btc.difficulty === undefined) {
        this.difficulty = new LiveInput({ ...shared, name: 'difficulty', url: `${base}/api/v1/mining/hashrate/3d`, parse: parseMempoolDifficulty });
      }
      if (btc.block_height === undefined && btc.subsidy_btc === undefined) {
        this.blockHeight = new LiveInput({ ...shared, name: 'block height', url: `${base}/api/blocks/tip/height`, parse: parseTipHeight });
      }
      if (btc.fees_per_block_btc === undefined) {
        this.feesPerBlock = new LiveInput({
          ...shared,
          name: 'fees per block',
          url: `${base}/api/v1/mining/reward-stats/${FEE_WINDOW_BLOCKS}`,
          parse: (body) => parseRewardStatsFeesPerBlock(body, FEE_WINDOW_BLOCKS),
        });
      }
    }
    const feed = config.power.feed;
    if (feed) {
      this.powerFeed = new LiveInput({
        ...common,
        name: 'power price',
        url: feed.url,
        parse: (body) => parseNumberAt(body, feed.json_path) * feed.scale,
        intervalMs: feed.interval,
        maxAgeMs: feed.max_age ?? config.stale_after,
      });
    }
  }

  /** Every live input, for metrics on their age and errors. */
  get live(): LiveInput<number>[] {
    return [this.btcPrice, this.difficulty, this.blockHeight, this.feesPerBlock, this.powerFeed].filter((i): i is LiveInput<number> => i !== undefined);
  }

  start(): void {
    for (const input of this.live) input.start();
  }

  stop(): void {
    for (const input of this.live) input.stop();
  }

  /** Fetches every live input once; resolves when all have answered or failed. */
  async refreshAll(): Promise<void> {
    await Promise.all(this.live.map((i) => i.refresh()));
  }

  /** The readings at an instant. */
  read(now: number = this.now()): EconomicInputs {
    const { config } = this;
    const missing: string[] = [];
    const pick = (staticValue: number | undefined, live: LiveInput<number> | undefined): InputReading | undefined => {
      if (staticValue !== undefined) return fromConfig(staticValue);
      if (!live) return undefined;
      const reading = fromLive(live, now);
      if (!reading) missing.push(missingLine(live));
      return reading;
    };

    const inputs: EconomicInputs = {
      at: new Date(now).toISOString(),
      pool_fee_ratio: config.bitcoin?.pool_fee_ratio ?? 0,
      gpu_models: config.gpu_models,
      gpu_node_overhead_w: config.gpu_node_overhead_w ?? 0,
      replace_drift_ratio: config.replace_drift_ratio,
      missing,
    };
    if (config.replacement) inputs.replacement = config.replacement;
    if (config.hashrate_lease) inputs.hashrate_lease = config.hashrate_lease;
    if (config.site_power_cap_kw !== undefined) inputs.site_power_cap_kw = config.site_power_cap_kw;

    const btc = config.bitcoin;
    if (btc) {
      setIfDefined(inputs, 'btc_price_usd', pick(btc.price_usd, this.btcPrice));
      setIfDefined(inputs, 'difficulty', pick(btc.difficulty, this.difficulty));
      setIfDefined(inputs, 'fees_per_block_btc', pick(btc.fees_per_block_btc, this.feesPerBlock));
      setIfDefined(inputs, 'block_height', pick(btc.block_height, this.blockHeight));
      if (btc.subsidy_btc !== undefined) inputs.subsidy_btc = fromConfig(btc.subsidy_btc);
      else if (inputs.block_height) inputs.subsidy_btc = subsidyFromHeight(inputs.block_height);
    }

    const power = config.power;
    if (power.flat_usd_per_kwh !== undefined) inputs.power_price_usd_per_kwh = fromConfig(power.flat_usd_per_kwh);
    else if (power.time_of_use) inputs.power_price_usd_per_kwh = fromConfig(timeOfUsePrice(power.time_of_use, now));
    else setIfDefined(inputs, 'power_price_usd_per_kwh', pick(undefined, this.powerFeed));
    return inputs;
  }
}

function setIfDefined<K extends InputName>(inputs: EconomicInputs, key: K, reading: InputReading | undefined): void {
  if (reading) inputs[key] = reading;
}

/** The subsidy at a height reading, as stale as the height it came from. */
export function subsidyFromHeight(height: InputReading): InputReading {
  const reading: InputReading = { value: blockSubsidyBtc(height.value), origin: 'derived', stale: height.stale };
  if (height.age_ms !== undefined) reading.age_ms = height.age_ms;
  return reading;
}
