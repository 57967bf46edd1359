import { z } from 'zod';
import { findModel } from '../agent/catalog.js';
import { durationSchema } from './duration.js';

/**
 * The `economics:` section: where prices and network figures come from, and the rules that turn
 * them into recommendations. Every figure is either written here (static) or fetched from a source
 * on an interval; a fetched figure older than its `max_age` marks the assessments that use it stale.
 */

const httpUrl = z.string().refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), { message: 'expected an http:// or https:// URL' });

const ratio = z.number().min(0).max(1);

const maxAge = durationSchema.optional().describe('Older than this, the last good value is stale and so is every assessment that uses it (default: economics.stale_after).');

export const priceSourceSchema = z
  .strictObject({
    url: httpUrl.describe(
      "CoinGecko-compatible simple-price URL, e.g. https://api.coingecko.com/api/v3/simple/price?ids=bitcoin&vs_currencies=usd; the reply's bitcoin.usd is read.",
    ),
    interval: durationSchema.prefault('5m').describe('How often to fetch the price.'),
    max_age: maxAge,
  })
  .describe('Fetch the BTC price in USD on an interval.');

export const networkSourceSchema = z
  .strictObject({
    url: httpUrl.describe(
      'Base URL of a mempool.space-compatible API, e.g. https://mempool.space. Read: /api/v1/mining/hashrate/3d (currentDifficulty), /api/blocks/tip/height, /api/v1/mining/reward-stats/144 (totalFee over the last 144 blocks).',
    ),
    interval: durationSchema.prefault('10m').describe('How often to fetch difficulty, tip height and fees.'),
    max_age: maxAge,
  })
  .describe('Fetch difficulty, block height and mean fees per block from a mempool.space-compatible API.');

export const bitcoinSchema = z
  .strictObject({
    price_usd: z.number().positive().optional().describe('Static BTC price in USD. Give this or price_source.'),
    price_source: priceSourceSchema.optional(),
    difficulty: z.number().positive().optional().describe('Static network difficulty (e.g. 152e12); pins it even when `source` is set.'),
    fees_per_block_btc: z.number().nonnegative().optional().describe('Static mean transaction fees per block in BTC; pins it even when `source` is set.'),
    block_height: z.number().int().nonnegative().optional().describe('Static block height, for the subsidy; pins it even when `source` is set.'),
    source: networkSourceSchema.optional(),
    subsidy_btc: z.number().nonnegative().optional().describe('Block subsidy override in BTC; by default it follows the block height (3.125 BTC from block 840,000).'),
    pool_fee_ratio: ratio.default(0.02).describe("The pool's cut of mining revenue, 0.02 for 2%."),
  })
  .superRefine((b, ctx) => {
    if ((b.price_usd === undefined) === (b.price_source === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['price_usd'], message: 'give exactly one of price_usd or price_source' });
    }
    if (!b.source) {
      if (b.difficulty === undefined) ctx.addIssue({ code: 'custom', path: ['difficulty'], message: 'difficulty is required unless `source` fetches it' });
      if (b.fees_per_block_btc === undefined) ctx.addIssue({ code: 'custom', path: ['fees_per_block_btc'], message: 'fees_per_block_btc is required unless `source` fetches it' });
      if (b.block_height === undefined && b.subsidy_btc === undefined) {
        ctx.addIssue({ code: 'custom', path: ['block_height'], message: 'block_height or subsidy_btc is required unless `source` fetches the height' });
      }
    }
  })
  .describe('Bitcoin network and market figures for mining revenue.');

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const weekdaySchema = z.enum(WEEKDAYS);

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

/** "HH:MM" wall-clock time to minutes after midnight; "24:00" is 1440, the end of the day. */
export const clockTimeSchema = z
  .string()
  .regex(CLOCK, { message: 'expected a time like "07:30" (24-hour HH:MM, 24:00 for end of day)' })
  .transform((text) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5)))
  .meta({ type: 'string', pattern: CLOCK.source, examples: ['07:00', '22:30'] });

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const touPeriodSchema = z
  .strictObject({
    days: z.array(weekdaySchema).min(1).describe('Days the period starts on ("mon".."sun"); a period that crosses midnight runs into the next day.'),
    start: clockTimeSchema.describe('Local start time, HH:MM.'),
    end: clockTimeSchema.describe('Local end time, HH:MM (exclusive); earlier than start means it ends the next day.'),
    usd_per_kwh: z.number().nonnegative().describe('Price during this period in USD per kWh.'),
  })
  .superRefine((p, ctx) => {
    // Zod still runs this when a time failed to parse; judge only times that did.
    if (typeof p.start !== 'number' || typeof p.end !== 'number') return;
    if (p.start === 1440) ctx.addIssue({ code: 'custom', path: ['start'], message: 'a period cannot start at 24:00; write 00:00' });
    else if (p.start === p.end) ctx.addIssue({ code: 'custom', path: ['end'], message: 'start and end are the same time; write 00:00 to 24:00 for a whole day' });
  });

export const timeOfUseSchema = z
  .strictObject({
    timezone: z
      .string()
      .refine(isTimeZone, { message: 'expected an IANA time zone like "America/Chicago"' })
      .describe('IANA time zone the periods are written in; DST follows it.'),
    periods: z.array(touPeriodSchema).min(1).describe('Tariff periods; the first one that covers the moment wins.'),
    default_usd_per_kwh: z.number().nonnegative().describe('Price outside every period in USD per kWh.'),
  })
  .describe('A time-of-use tariff in local wall-clock time.');

export const powerFeedSchema = z
  .strictObject({
    url: httpUrl.describe('URL returning JSON: a number, or an object holding the price at json_path.'),
    json_path: z
      .string()
      .regex(/^[^.]+(\.[^.]+)*$/, { message: 'expected a dotted path like "price.usd_per_kwh" (array items by index: "data.0.price")' })
      .optional()
      .describe('Dotted path to the price in the reply, e.g. "price.usd_per_kwh"; omit when the body is the number itself.'),
    scale: z.number().positive().default(1).describe('Multiplies the feed value into USD per kWh, e.g. 0.001 for a feed in USD per MWh.'),
    interval: durationSchema.prefault('5m').describe('How often to fetch the price.'),
    max_age: maxAge,
  })
  .describe('Fetch the power price from a JSON endpoint on an interval (spot or real-time prices; may be negative).');

export const powerPriceSchema = z
  .strictObject({
    flat_usd_per_kwh: z.number().nonnegative().optional().describe('One price at all times, USD per kWh.'),
    time_of_use: timeOfUseSchema.optional(),
    feed: powerFeedSchema.optional(),
  })
  .superRefine((p, ctx) => {
    const given = [p.flat_usd_per_kwh !== undefined, p.time_of_use !== undefined, p.feed !== undefined].filter(Boolean).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of flat_usd_per_kwh, time_of_use or feed' });
  })
  .describe('What a kWh costs now.');

export const gpuModelEconomicsSchema = z
  .strictObject({
    rate_usd_per_hour: z.number().nonnegative().describe('Lease rate per GPU per hour in USD, before the platform fee.'),
    occupancy_ratio: ratio.describe('Share of hours the GPU is actually rented, 0.7 for 70%.'),
    platform_fee_ratio: ratio.describe("The marketplace's cut of lease revenue, 0.2 for 20%."),
    mining_revenue_usd_per_day: z.number().nonnegative().optional().describe('What the GPU earns per day mining instead, if it can.'),
    committed: z
      .strictObject({
        rate_usd_per_hour: z.number().nonnegative().describe('Contracted rate per GPU per hour in USD, paid whether the GPU is busy or not.'),
        start: z.iso.date().describe('First day of the contract, YYYY-MM-DD (UTC).'),
        term_days: z.number().int().positive().describe('Length of the contract in days.'),
      })
      .optional()
      .describe('A committed lease of this model: while it runs it replaces the spot terms above, as fixed income; after it ends the spot terms apply again.'),
  })
  .describe('Economics of one GPU model: spot marketplace terms, and optionally a committed contract beside them.');

export const hashrateLeaseSchema = z
  .strictObject({
    usd_per_ph_day: z.number().nonnegative().describe('What a marketplace pays per PH/s per day of hashrate delivered (e.g. NiceHash, Braiins Hashpower).'),
    fee_ratio: ratio.default(0).describe("The marketplace's cut, 0.03 for 3%."),
  })
  .describe('Selling ASIC hashrate on a marketplace: an activity beside mining, judged the same way.');

export const replacementOptionSchema = z
  .strictObject({
    model: z
      .string()
      .min(1)
      .refine((name) => findModel(name) !== undefined, { message: 'not a model in the catalog (agent/catalog.ts): its hashrate and power are unknown' })
      .describe('Catalog model name of the new machine, e.g. "Antminer S21 XP"; its nominal hashrate and power give what it would earn.'),
    price_usd: z.number().nonnegative().describe('Price per unit in USD, delivered and installed.'),
  })
  .describe('A machine an ASIC could be replaced with.');

export const replacementSchema = z
  .strictObject({
    options: z.array(replacementOptionSchema).min(1).describe('Machines to weigh; each device is appraised against the one that pays back soonest.'),
    horizon_days: z.number().positive().default(540).describe("Recommend replacement only when the swap pays back within this many days at today's prices."),
    resale_usd: z
      .record(z.string().min(1), z.number().nonnegative())
      .default({})
      .describe("What an old machine sells for, by catalog model name; it comes off the new machine's price."),
  })
  .describe('Replacement options: "replace" when swapping a device pays back within horizon_days.');

export const planHysteresisSchema = z
  .strictObject({
    min_run: durationSchema.prefault('0s').describe('A device the plan started keeps running at least this long, while the cap allows.'),
    min_off: durationSchema.prefault('0s').describe('A device the plan stopped stays off at least this long.'),
    deadband_usd_per_day: z
      .number()
      .nonnegative()
      .default(0)
      .describe(
        'A device changes state only for more than this margin per day: a running one stays on while its margin is above −deadband, a stopped one starts when above +deadband, and a swap under the cap must gain more than the deadband.',
      ),
  })
  .describe('Hysteresis so the plan does not flap on noise.');

/** "12mo", "90d", "2y" → days (a month is 365 ÷ 12 days, rounded to whole days at the end). */
export function parseHorizonDays(text: string): number | undefined {
  const match = /^(\d+)(d|mo|y)$/.exec(text.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  const days = match[2] === 'd' ? n : match[2] === 'mo' ? (n * 365) / 12 : n * 365;
  return days >= 1 && days <= 3650 ? Math.round(days) : undefined;
}

export const forecastSchema = z
  .strictObject({
    horizon: z
      .string()
      .refine((text) => parseHorizonDays(text) !== undefined, { message: 'expected a horizon like "12mo", "90d" or "2y" (1 day to 10 years)' })
      .default('12mo')
      .describe('The horizon the agent exports the forward view over (recommend takes --horizon).'),
    difficulty_growth_per_epoch: z.number().min(-0.5).max(1).default(0.02).describe('Difficulty change per 2,016-block epoch over the horizon: 0.02 = +2% every ~14 days.'),
    btc_price_usd: z
      .strictObject({
        p10: z.number().positive().describe('A low BTC price over the horizon (10th percentile).'),
        p50: z.number().positive().describe('The median BTC price over the horizon.'),
        p90: z.number().positive().describe('A high BTC price over the horizon (90th percentile).'),
      })
      .refine((p) => p.p10 <= p.p50 && p.p50 <= p.p90, { message: 'expected p10 <= p50 <= p90' })
      .describe('BTC price scenarios, each held over the horizon.'),
  })
  .describe('The forward view (`potencia recommend --horizon 12mo`): difficulty growth, the halving at 1,050,000, BTC price scenarios.');

export const economicsSchema = z
  .strictObject({
    bitcoin: bitcoinSchema.optional(),
    power: powerPriceSchema,
    gpu_models: z
      .record(z.string().min(1), gpuModelEconomicsSchema)
      .default({})
      .describe('Per GPU model name as nvidia-smi reports it (e.g. "NVIDIA H100 80GB HBM3"); matched ignoring case and spacing.'),
    hashrate_lease: hashrateLeaseSchema.optional(),
    gpu_node_overhead_w: z
      .number()
      .nonnegative()
      .default(0)
      .describe(
        "What a GPU server draws beyond its GPUs (CPUs, memory, NICs, fans, PSU losses), in W, when its PDU outlet is not mapped: shared across its GPUs. A mapped outlet's wall reading wins.",
      ),
    site_power_cap_kw: z
      .number()
      .positive()
      .optional()
      .describe('The most the site may draw, in kW; the site plan picks the subset of devices with the highest total margin that fits under it.'),
    plan: planHysteresisSchema.prefault({}),
    forecast: forecastSchema.optional(),
    replacement: replacementSchema.optional(),
    replace_drift_ratio: z
      .number()
      .positive()
      .default(0.25)
      .describe("Efficiency (J/TH) this much worse than the model's nominal is flagged (alerts, reasons): 0.25 = 25% worse. Replacement itself is judged by payback."),
    stale_after: durationSchema.prefault('1h').describe('Default max_age for every fetched figure.'),
  })
  .describe('Economics: prices, network figures, lease rates and the rules for recommendations.');

export type EconomicsConfigInput = z.input<typeof economicsSchema>;
export type EconomicsConfig = z.output<typeof economicsSchema>;
export type TimeOfUseConfig = z.output<typeof timeOfUseSchema>;
export type TouPeriod = z.output<typeof touPeriodSchema>;
export type GpuModelEconomics = z.output<typeof gpuModelEconomicsSchema>;
export type ReplacementConfig = z.output<typeof replacementSchema>;
export type PlanHysteresis = z.output<typeof planHysteresisSchema>;
export type ForecastConfig = z.output<typeof forecastSchema>;
export type HashrateLease = z.output<typeof hashrateLeaseSchema>;
