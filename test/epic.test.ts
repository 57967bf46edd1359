/**
 * The ePIC scheme: the PowerPlay-BMS captures in ../shared/fixtures/epic (S19 XP: /summary,
 * /capabilities, /network) read into a snapshot checked against them, then the collector over real
 * HTTP against the simulator's twin, and its failures. The pool password in /summary goes nowhere.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import type { Target } from '../collectors/contract.js';
import { normalizeEpic } from '../collectors/epic/normalize.js';
import { createCollector } from '../collectors/registry.js';
import { parseTargetUrl } from '../collectors/target.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, REPO_ROOT, sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('epic');
const IDENTITY = { id: 'asic/10.0.81.19', kind: 'asic' as const, target: 'epic://10.0.81.19:4028', labels: {}, address: '10.0.81.19' };
const json = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES!, 'asic-rs/v1', file), 'utf8')) as Record<string, unknown>;

function target(url: string, timeoutMs = 2000): Target {
  const parsed = parseTargetUrl(url);
  return { url, scheme: parsed.scheme, host: parsed.hosts[0]!, port: parsed.port, labels: {}, intervalMs: 10_000, timeoutMs };
}
const poll = (url: string, timeoutMs = 2000, maxResponseBytes = 1 << 20) => createCollector(target(url, timeoutMs), { maxResponseBytes }).collect(new AbortController().signal);

describe.skipIf(FIXTURES === undefined)('ePIC PowerPlay-BMS captures (asic-rs, S19 XP)', () => {
  it('reads /summary, /capabilities and /network: two boards hashing, one disabled, the PSU’s watts', () => {
    const s = enrichSnapshot(normalizeEpic({ summary: json('summary.json'), capabilities: json('capabilities.json'), network: json('network.json') }, IDENTITY, new Date()));
    expect(s).toMatchObject({
      up: true,
      vendor: 'Bitmain',
      model: 'Antminer S19 XP',
      dialect: 'epic',
      firmware: 'PowerPlay-BMS v1.5.13',
      mac: 'E6:D4:41:51:64:28',
      // 49,440,724 + 49,925,124 MH/s
      hashrate_hs: 99_365_848_000_000,
      nominal_hashrate_hs: 143e12,
      power_w: 2167,
      power_source: 'reported',
      power_limit_w: 3000,
      uptime_s: 23170,
      accepted_shares: 1862,
      rejected_shares: 2,
      fans_rpm: [5971, 0, 5942, 5745],
      error: 'board 0 disabled by the firmware',
    });
    expect(s.boards).toEqual([
      { index: 0, status: 'dead' },
      { index: 1, status: 'ok', hashrate_hs: 49_440_724_000_000, board_temperature_c: 67 },
      { index: 2, status: 'ok', hashrate_hs: 49_925_124_000_000, board_temperature_c: 64.312 },
    ]);
    // 2167 W / 99.365848 TH/s
    expect(s.efficiency_j_per_th).toBe(21.81);
    expect(s.pools).toEqual([{ url: 'stratum+tcp://mine.ocean.xyz:3334', user: 'randomuser.randomworker', active: true }]);
    expect(JSON.stringify(s)).not.toContain('"password"');
  });
});

describe('ePIC plugin test data', () => {
  it('falls back to the boards’ input power, reports the missing board and the firmware’s error, never the pool password', () => {
    const summary = JSON.parse(readFileSync(path.join(REPO_ROOT, 'collectors/epic/testdata/summary-psu-off.json'), 'utf8')) as Record<string, unknown>;
    const s = normalizeEpic({ summary }, IDENTITY, new Date());
    expect(s.power_by_source_w).toEqual({ reported: 812 });
    expect(s.fans_rpm).toEqual([4200, 4100]);
    expect(s.temperatures_c).toEqual({});
    expect(s.error).toBe('board 1 not detected; firmware: Hashboard 1 not found');
    expect(s.pools).toEqual([{ url: 'stratum+tcp://pool.example:3333', user: 'w.1', active: false }]);
    expect(JSON.stringify(s)).not.toContain('do-not-export');
  });
});

describe('ePIC over HTTP from the simulator', () => {
  let farm: Farm;
  const clock = () => 1_760_000_000_000;
  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [] });
    farm = await startFarm({ devices: 2, seed: 4, mode: 'port', host: block.host(1), port: 0, models: [{ model: 'Antminer S19 XP', protocol: 'epic' }], clock, failures: false });
  });
  afterAll(() => farm?.stop());

  it('polls the twin and matches its reading', async () => {
    const [s] = await poll(farm.miners[0]!.url);
    const truth = farm.readingOf(0);
    expect(s).toMatchObject({ up: true, vendor: 'Bitmain', model: 'Antminer S19 XP', dialect: 'epic', power_by_source_w: { reported: Math.round(truth.powerW + 0.6174) } });
    expect(s!.hashrate_hs).toBe(truth.boards.reduce((a, b) => a + Math.round(b.hashrateGhs * 1000), 0) * 1e6);
    expect(s!.boards).toHaveLength(3);
    expect(JSON.stringify(s)).not.toContain('x-pool-secret');
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
