/**
 * The Bitaxe scheme: the ESP-Miner capture in ../shared/fixtures/bitaxe read into a snapshot checked
 * against it, then the collector over real HTTP against the simulator's twin, and its failures.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import { normalizeBitaxe } from '../collectors/bitaxe/normalize.js';
import type { Target } from '../collectors/contract.js';
import { createCollector } from '../collectors/registry.js';
import { parseTargetUrl } from '../collectors/target.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, REPO_ROOT, sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('bitaxe');
const IDENTITY = { id: 'asic/10.0.9.9', kind: 'asic' as const, target: 'bitaxe://10.0.9.9:80', labels: {}, address: '10.0.9.9' };

function target(url: string, timeoutMs = 2000): Target {
  const parsed = parseTargetUrl(url);
  return { url, scheme: parsed.scheme, host: parsed.hosts[0]!, port: parsed.port, labels: {}, intervalMs: 10_000, timeoutMs };
}
const poll = (url: string, timeoutMs = 2000, maxResponseBytes = 1 << 20) => createCollector(target(url, timeoutMs), { maxResponseBytes }).collect(new AbortController().signal);

describe.skipIf(FIXTURES === undefined)('ESP-Miner capture (asic-rs, BM1368 Bitaxe, AxeOS v2.4.5)', () => {
  it('reads /api/system/info: a Bitaxe Supra measuring its own power', () => {
    const info = JSON.parse(readFileSync(path.join(FIXTURES!, 'asic-rs/v2_0_0/system_info.json'), 'utf8')) as Record<string, unknown>;
    const s = enrichSnapshot(normalizeBitaxe(info, IDENTITY, new Date()));
    expect(s).toMatchObject({
      up: true,
      vendor: 'Bitaxe',
      model: 'Bitaxe Supra',
      dialect: 'bitaxe',
      firmware: 'v2.4.5-3-gb5d1e36-dirty',
      mac: 'AA:BB:CC:DD:EE:FF',
      hashrate_hs: 1_000_000_000_000,
      power_w: 2.65,
      power_source: 'reported',
      uptime_s: 4,
      accepted_shares: 0,
      fans_rpm: [3517],
      // 2.65 W / 1 TH/s (the unit had run 4 s)
      efficiency_j_per_th: 2.65,
    });
    expect(s.temperatures_c).toEqual({ chip_max: 59.875, vr: 78 });
    expect(s.boards).toEqual([{ index: 0, status: 'ok', hashrate_hs: 1_000_000_000_000, chip_temperature_c: 59.875, chips: 1 }]);
    expect(s.pools).toEqual([
      { url: 'stratum+tcp://btc.example.pool:3333', active: true, user: 'asic-rs.test' },
      { url: 'stratum+tcp://btc2.example.pool:3333', active: false, user: 'asic-rs.test' },
    ]);
  });
});

describe('Bitaxe plugin test data', () => {
  it('names a NerdAxe fork by its deviceModel and flags overheat mode', () => {
    const info = JSON.parse(readFileSync(path.join(REPO_ROOT, 'collectors/bitaxe/testdata/nerdqaxe-overheat.json'), 'utf8')) as Record<string, unknown>;
    const s = normalizeBitaxe(info, IDENTITY, new Date());
    expect(s).toMatchObject({ vendor: 'NerdAxe', model: 'NerdQAxe++', error: 'overheat mode: the firmware has throttled the ASIC' });
    expect(s.pools?.map((p) => p.active)).toEqual([false, true]);
  });
});

describe('Bitaxe over HTTP from the simulator', () => {
  let farm: Farm;
  const clock = () => 1_760_000_000_000;
  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [] });
    farm = await startFarm({ devices: 2, seed: 8, mode: 'port', host: block.host(1), port: 0, models: [{ model: 'Bitaxe Gamma', protocol: 'bitaxe' }], clock, failures: false });
  });
  afterAll(() => farm?.stop());

  it('polls the twin and matches its reading', async () => {
    const [s] = await poll(farm.miners[0]!.url);
    const truth = farm.readingOf(0);
    expect(s).toMatchObject({ up: true, vendor: 'Bitaxe', model: 'Bitaxe Gamma', dialect: 'bitaxe', power_by_source_w: { reported: Math.round(truth.powerW * 100) / 100 } });
    expect(s!.hashrate_hs).toBe(Math.round((Math.round(truth.ghs5s * 100) / 100) * 1e9));
  });

  it('rejects with a bounded reason: malformed, too large, timeout, refused', async () => {
    const url = farm.miners[1]!.url;
    farm.setMalformed(1, true);
    await expect(poll(url)).rejects.toMatchObject({ reason: 'malformed' });
    farm.setMalformed(1, false);
    await expect(poll(url, 2000, 100)).rejects.toMatchObject({ reason: 'too_large' });
    farm.hang(1);
    await expect(poll(url, 300)).rejects.toMatchObject({ reason: 'timeout' });
    await farm.kill(1);
    await expect(poll(url)).rejects.toMatchObject({ reason: 'refused' });
  });
});
