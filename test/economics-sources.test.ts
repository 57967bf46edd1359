import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { economicsSchema } from '../config/economics-schema.js';
import { EconomicInputsProvider } from '../agent/economics/inputs.js';
import { LiveInput, parseCoinGeckoBtcUsd, parseMempoolDifficulty, parseNumberAt, parseRewardStatsFeesPerBlock, parseTipHeight } from '../agent/economics/sources.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real HTTP server on loopback whose routes a test can change between requests. */
class FakeApi {
  routes = new Map<string, Handler>();
  hits: string[] = [];
  private server: Server = createServer((req, res) => {
    this.hits.push(req.url ?? '');
    const handler = this.routes.get(req.url ?? '');
    if (handler) handler(req, res);
    else res.writeHead(404).end('not found');
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  json(path: string, body: unknown, status = 200): void {
    this.routes.set(path, (_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body)));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let api: FakeApi;
let base: string;
beforeEach(async () => {
  api = new FakeApi();
  base = await api.listen();
});
afterEach(async () => {
  vi.useRealTimers();
  await api.close();
});

function priceInput(clock: { now: number }, over: Partial<ConstructorParameters<typeof LiveInput<number>>[0]> = {}) {
  return new LiveInput<number>({ name: 'bitcoin price', url: `${base}/price`, parse: parseCoinGeckoBtcUsd, intervalMs: 60_000, maxAgeMs: 600_000, now: () => clock.now, ...over });
}

describe('LiveInput against a real HTTP server', () => {
  it('keeps a good value with the time it was fetched', async () => {
    api.json('/price', { bitcoin: { usd: 91_000 } });
    const clock = { now: 1_000_000 };
    const input = priceInput(clock);
    expect(input.value).toBeUndefined();
    expect(input.stale(clock.now)).toBe(true);
    await input.refresh();
    expect(input.value).toBe(91_000);
    expect(input.fetchedAt).toBe(1_000_000);
    expect(input.lastError).toBeUndefined();
    expect(input.ageMs(1_030_000)).toBe(30_000);
  });

  it('keeps the last good value and records the error when the reply turns bad', async () => {
    api.json('/price', { bitcoin: { usd: 91_000 } });
    const clock = { now: 1_000_000 };
    const input = priceInput(clock);
    await input.refresh();

    api.json('/price', '{"bitcoin": {"usd": 9');
    clock.now = 1_060_000;
    await input.refresh();
    expect(input.value).toBe(91_000);
    expect(input.fetchedAt).toBe(1_000_000);
    expect(input.lastError).toMatch(/bitcoin price from http:\/\/127\.0\.0\.1:\d+\/price: reply is not JSON/);
    expect(input.lastErrorAt).toBe(1_060_000);

    api.json('/price', { error: 'rate limited' }, 429);
    await input.refresh();
    expect(input.lastError).toMatch(/HTTP 429/);
    expect(input.value).toBe(91_000);

    api.json('/price', { bitcoin: { usd: 'ninety' } });
    await input.refresh();
    expect(input.lastError).toMatch(/bitcoin\.usd is not a number/);

    api.json('/price', { bitcoin: { usd: 92_500 } });
    clock.now = 1_120_000;
    await input.refresh();
    expect(input.value).toBe(92_500);
    expect(input.fetchedAt).toBe(1_120_000);
    expect(input.lastError).toBeUndefined();
  });

  it('records a server that is down without rejecting', async () => {
    const url = `${base}/price`;
    await api.close();
    api = new FakeApi(); // afterEach closes this fresh, never-listening one
    await api.listen();
    const input = new LiveInput<number>({ name: 'bitcoin price', url, parse: parseCoinGeckoBtcUsd, intervalMs: 60_000, maxAgeMs: 600_000 });
    await expect(input.refresh()).resolves.toBeUndefined();
    expect(input.value).toBeUndefined();
    expect(input.lastError).toMatch(/ECONNREFUSED/);
  });

  it('gives up on a server that never answers after its timeout', async () => {
    api.routes.set('/price', () => {
      /* holds the request open */
    });
    const input = new LiveInput<number>({ name: 'bitcoin price', url: `${base}/price`, parse: parseCoinGeckoBtcUsd, intervalMs: 60_000, maxAgeMs: 600_000, timeoutMs: 50 });
    await input.refresh();
    expect(input.lastError).toMatch(/no reply within 50 ms/);
  });

  it('aborts a fetch in flight on stop, without calling it an error', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    api.routes.set('/price', () => arrived());
    const input = priceInput({ now: 0 }, { timeoutMs: 30_000 });
    input.start();
    await requestArrived;
    input.stop();
    await input.whenIdle();
    expect(input.lastError).toBeUndefined();
    expect(input.value).toBeUndefined();
  });

  it('goes stale past max_age and fresh again with the next good reply', async () => {
    api.json('/price', { bitcoin: { usd: 91_000 } });
    const clock = { now: 0 };
    const input = priceInput(clock, { maxAgeMs: 600_000 });
    await input.refresh();
    expect(input.stale(600_000)).toBe(false);
    expect(input.stale(600_001)).toBe(true);
    api.json('/price', 'not json');
    clock.now = 700_000;
    await input.refresh();
    expect(input.stale(700_000)).toBe(true); // a failed fetch does not refresh the age
    api.json('/price', { bitcoin: { usd: 90_000 } });
    await input.refresh();
    expect(input.stale(700_000)).toBe(false);
  });

  it('fetches on start, again every interval after the last fetch, and not after stop', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    api.json('/price', { bitcoin: { usd: 91_000 } });
    const input = priceInput({ now: 0 }, { intervalMs: 30_000, timeoutMs: 5_000 });
    input.start();
    input.start(); // a second start is a no-op, not a second loop
    await input.whenIdle();
    expect(api.hits).toEqual(['/price']);

    await vi.advanceTimersByTimeAsync(29_999);
    expect(api.hits).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await input.whenIdle();
    expect(api.hits).toHaveLength(2);

    input.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(api.hits).toHaveLength(2);
  });
});

describe('parsers for the public APIs', () => {
  it('reads CoinGecko simple price', () => {
    expect(parseCoinGeckoBtcUsd('{"bitcoin":{"usd":91234.5}}')).toBe(91234.5);
    expect(() => parseCoinGeckoBtcUsd('{"ethereum":{"usd":3000}}')).toThrow(/bitcoin\.usd/);
    expect(() => parseCoinGeckoBtcUsd('{"bitcoin":{"usd":0}}')).toThrow(/positive/);
  });

  it('reads difficulty from the hashrate endpoint, difficulty-adjustment rows, an object or a number', () => {
    expect(parseMempoolDifficulty(JSON.stringify({ hashrates: [], difficulty: [], currentHashrate: 1.1e21, currentDifficulty: 152271405447597.1 }))).toBe(152271405447597.1);
    const rows = [
      [1763000000, 923328, 152271405447597.1, 1.0157],
      [1761800000, 921312, 149916805767548.6, 0.9876],
    ];
    expect(parseMempoolDifficulty(JSON.stringify(rows))).toBe(152271405447597.1);
    expect(parseMempoolDifficulty(JSON.stringify([...rows].reverse()))).toBe(152271405447597.1);
    expect(parseMempoolDifficulty('{"difficulty":"1.5e14"}')).toBe(1.5e14);
    expect(parseMempoolDifficulty('152e12')).toBe(152e12);
    expect(() => parseMempoolDifficulty('{"progressPercent":40.2,"difficultyChange":1.3}')).toThrow(/currentDifficulty/);
  });

  it('reads the tip height as plain text', () => {
    expect(parseTipHeight('925123\n')).toBe(925_123);
    expect(() => parseTipHeight('<html>')).toThrow(/tip height/);
    expect(() => parseTipHeight('925123.5')).toThrow(/integer/);
  });

  it('turns reward-stats totalFee in satoshis into BTC per block', () => {
    const body = JSON.stringify({ startBlock: 925_000, endBlock: 925_143, totalReward: '45432000000', totalFee: '432000000', totalTx: '500000' });
    expect(parseRewardStatsFeesPerBlock(body, 144)).toBeCloseTo(0.03, 12);
    expect(parseRewardStatsFeesPerBlock(JSON.stringify({ totalFee: 288_000_000 }), 144)).toBeCloseTo(0.02, 12);
    expect(() => parseRewardStatsFeesPerBlock('{"totalReward":"1"}', 144)).toThrow(/totalFee/);
  });

  it('reads a feed number at a dotted path or as the whole body', () => {
    expect(parseNumberAt('{"price":{"usd_per_kwh":0.061}}', 'price.usd_per_kwh')).toBe(0.061);
    expect(parseNumberAt('{"data":[{"lmp":"-12.5"}]}', 'data.0.lmp')).toBe(-12.5);
    expect(parseNumberAt('0.072')).toBe(0.072);
    expect(parseNumberAt(' 0.072\n')).toBe(0.072);
    expect(() => parseNumberAt('{"price":{}}', 'price.usd_per_kwh')).toThrow(/nothing at "price\.usd_per_kwh"/);
    expect(() => parseNumberAt('{"price":1}')).toThrow(/not a number/);
  });
});

describe('EconomicInputsProvider', () => {
  it('fetches price, network figures and a power feed, and reads them with their staleness', async () => {
    api.json('/simple/price?ids=bitcoin&vs_currencies=usd', { bitcoin: { usd: 91_000 } });
    api.json('/api/v1/mining/hashrate/3d', { hashrates: [], difficulty: [], currentHashrate: 1.09e21, currentDifficulty: 152e12 });
    api.routes.set('/api/blocks/tip/height', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('925000'));
    api.json('/api/v1/mining/reward-stats/144', { startBlock: 924_857, endBlock: 925_000, totalReward: '0', totalFee: '432000000', totalTx: '0' });
    api.json('/power', { price: { usd_per_mwh: 48.5 } });
    const config = economicsSchema.parse({
      bitcoin: {
        price_source: { url: `${base}/simple/price?ids=bitcoin&vs_currencies=usd`, interval: '1m', max_age: '10m' },
        source: { url: `${base}/api/`, interval: '10m' },
        pool_fee_ratio: 0,
      },
      power: { feed: { url: `${base}/power`, json_path: 'price.usd_per_mwh', scale: 0.001, interval: '5m', max_age: '15m' } },
      stale_after: '1h',
    });
    const clock = { now: Date.parse('2025-11-20T12:00:00Z') };
    const provider = new EconomicInputsProvider(config, { now: () => clock.now });
    expect(provider.live).toHaveLength(5);

    const before = provider.read();
    expect(before.btc_price_usd).toBeUndefined();
    expect(before.missing).toHaveLength(5);

    await provider.refreshAll();
    const inputs = provider.read();
    expect(inputs.btc_price_usd).toEqual({ value: 91_000, origin: 'live', stale: false, age_ms: 0 });
    expect(inputs.difficulty?.value).toBe(152e12);
    expect(inputs.block_height?.value).toBe(925_000);
    expect(inputs.subsidy_btc).toMatchObject({ value: 3.125, origin: 'derived', stale: false });
    expect(inputs.fees_per_block_btc?.value).toBeCloseTo(0.03, 12);
    expect(inputs.power_price_usd_per_kwh?.value).toBeCloseTo(0.0485, 12);
    expect(inputs.missing).toEqual([]);

    clock.now += 16 * 60_000; // past the price's 10m and the feed's 15m, within the network's 1h default
    const later = provider.read();
    expect(later.btc_price_usd?.stale).toBe(true);
    expect(later.power_price_usd_per_kwh?.stale).toBe(true);
    expect(later.difficulty?.stale).toBe(false);
    expect(later.subsidy_btc?.stale).toBe(false);
  });

  it('lets a static figure pin what the source would fetch, and fetches nothing for an all-static config', () => {
    const pinned = new EconomicInputsProvider(
      economicsSchema.parse({ bitcoin: { price_usd: 91_000, source: { url: base }, fees_per_block_btc: 0.05 }, power: { flat_usd_per_kwh: 0.05 } }),
    );
    expect(pinned.live.map((i) => i.name)).toEqual(['difficulty', 'block height']);
    const inputs = pinned.read();
    expect(inputs.fees_per_block_btc).toEqual({ value: 0.05, origin: 'config', stale: false });
    expect(inputs.btc_price_usd).toEqual({ value: 91_000, origin: 'config', stale: false });

    const allStatic = new EconomicInputsProvider(
      economicsSchema.parse({ bitcoin: { price_usd: 91_000, difficulty: 152e12, fees_per_block_btc: 0.03, subsidy_btc: 3.125 }, power: { flat_usd_per_kwh: 0.05 } }),
    );
    expect(allStatic.live).toEqual([]);
    expect(allStatic.read().subsidy_btc).toEqual({ value: 3.125, origin: 'config', stale: false });
  });
});
