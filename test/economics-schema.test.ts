import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { economicsSchema } from '../config/economics-schema.js';

function issues(input: unknown): string[] {
  const result = economicsSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const minimal = { bitcoin: { price_usd: 91_000, difficulty: 152e12, fees_per_block_btc: 0.03, block_height: 925_000 }, power: { flat_usd_per_kwh: 0.05 } };

describe('economicsSchema', () => {
  it('parses a static config with documented defaults', () => {
    const config = economicsSchema.parse(minimal);
    expect(config.bitcoin?.pool_fee_ratio).toBe(0.02);
    expect(config.replace_drift_ratio).toBe(0.25);
    expect(config.stale_after).toBe(3_600_000);
    expect(config.gpu_models).toEqual({});
  });

  it('parses live sources, durations to milliseconds and time-of-use clock times to minutes', () => {
    const config = economicsSchema.parse({
      bitcoin: {
        price_source: { url: 'https://api.coingecko.com/api/v3/simple/price?ids=bitcoin&vs_currencies=usd', interval: '30s', max_age: '10m' },
        source: { url: 'https://mempool.space' },
        pool_fee_ratio: 0,
      },
      power: {
        time_of_use: {
          timezone: 'America/Chicago',
          periods: [{ days: ['mon', 'fri'], start: '07:30', end: '24:00', usd_per_kwh: 0.12 }],
          default_usd_per_kwh: 0.05,
        },
      },
      gpu_models: { 'NVIDIA H100 80GB HBM3': { rate_usd_per_hour: 2, occupancy_ratio: 0.8, platform_fee_ratio: 0.2 } },
      site_power_cap_kw: 2500,
      plan: { min_run: '15m', deadband_usd_per_day: 0.25 },
      replacement: { options: [{ model: 'Antminer S21 XP', price_usd: 5800 }], resale_usd: { 'Antminer S19 Pro': 450 } },
      stale_after: '2h',
    });
    expect(config.plan).toEqual({ min_run: 900_000, min_off: 0, deadband_usd_per_day: 0.25 });
    expect(config.replacement).toEqual({ options: [{ model: 'Antminer S21 XP', price_usd: 5800 }], horizon_days: 540, resale_usd: { 'Antminer S19 Pro': 450 } });
    expect(config.bitcoin?.price_source).toEqual({ url: expect.any(String), interval: 30_000, max_age: 600_000 });
    expect(config.bitcoin?.source).toEqual({ url: 'https://mempool.space', interval: 600_000 });
    expect(config.power.time_of_use?.periods[0]).toMatchObject({ start: 450, end: 1440 });
    expect(config.stale_after).toBe(7_200_000);
  });

  it('rejects unknown keys at every level, with their path', () => {
    expect(issues({ ...minimal, colour: 'red' })).toEqual([expect.stringMatching(/colour/)]);
    expect(issues({ ...minimal, power: { flat_usd_per_kwh: 0.05, currency: 'EUR' } })).toEqual([expect.stringMatching(/^power: .*currency/)]);
    expect(issues({ ...minimal, gpu_models: { 'NVIDIA H100 80GB HBM3': { rate_usd_per_hour: 2, occupancy_ratio: 1, platform_fee_ratio: 0, rate_per_day: 48 } } })).toEqual([
      expect.stringMatching(/^gpu_models\.NVIDIA H100 80GB HBM3: .*rate_per_day/),
    ]);
  });

  it('refuses a replacement option the catalog does not know', () => {
    expect(issues({ ...minimal, replacement: { options: [{ model: 'Antminer S99', price_usd: 1 }] } })).toEqual([
      expect.stringMatching(/^replacement\.options\.0\.model: not a model in the catalog/),
    ]);
  });

  it('explains a bad duration', () => {
    const found = issues({ ...minimal, stale_after: '10 minutes' });
    expect(found).toEqual([expect.stringContaining('stale_after: expected a duration like "30s"')]);
  });

  it('wants exactly one price source and exactly one power price', () => {
    expect(issues({ ...minimal, bitcoin: { ...minimal.bitcoin, price_source: { url: 'http://127.0.0.1/p' } } })).toEqual([
      'bitcoin.price_usd: give exactly one of price_usd or price_source',
    ]);
    expect(issues({ ...minimal, power: {} })).toEqual(['power: give exactly one of flat_usd_per_kwh, time_of_use or feed']);
    expect(issues({ ...minimal, power: { flat_usd_per_kwh: 0.05, feed: { url: 'http://127.0.0.1/p' } } })).toHaveLength(1);
  });

  it('names each network figure that has neither a static value nor a source', () => {
    expect(issues({ ...minimal, bitcoin: { price_usd: 91_000 } })).toEqual([
      'bitcoin.difficulty: difficulty is required unless `source` fetches it',
      'bitcoin.fees_per_block_btc: fees_per_block_btc is required unless `source` fetches it',
      'bitcoin.block_height: block_height or subsidy_btc is required unless `source` fetches the height',
    ]);
  });

  it('rejects bad time zones, clock times, empty periods and non-http URLs', () => {
    const tou = (over: object) => ({
      ...minimal,
      power: { time_of_use: { timezone: 'Europe/Madrid', periods: [{ days: ['mon'], start: '07:00', end: '19:00', usd_per_kwh: 0.1 }], default_usd_per_kwh: 0.05, ...over } },
    });
    expect(issues(tou({ timezone: 'Mars/Olympus' }))).toEqual([expect.stringContaining('IANA time zone')]);
    expect(issues(tou({ periods: [{ days: ['mon'], start: '7:00', end: '19:00', usd_per_kwh: 0.1 }] }))).toEqual([expect.stringContaining('HH:MM')]);
    expect(issues(tou({ periods: [{ days: ['monday'], start: '07:00', end: '19:00', usd_per_kwh: 0.1 }] }))).toHaveLength(1);
    expect(issues(tou({ periods: [{ days: ['mon'], start: '07:00', end: '07:00', usd_per_kwh: 0.1 }] }))).toEqual([expect.stringContaining('same time')]);
    expect(issues(tou({ periods: [{ days: ['mon'], start: '24:00', end: '06:00', usd_per_kwh: 0.1 }] }))).toEqual([expect.stringContaining('cannot start at 24:00')]);
    expect(issues({ ...minimal, power: { feed: { url: 'ftp://example.com/price' } } })).toEqual([expect.stringContaining('http')]);
  });

  it('exports a JSON Schema for editors that carries the descriptions', () => {
    const json = z.toJSONSchema(economicsSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { description?: string }> };
    expect(json.properties.replace_drift_ratio?.description).toMatch(/25% worse/);
    expect(json.properties.stale_after?.description).toMatch(/max_age/);
  });
});
