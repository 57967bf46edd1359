/**
 * The Braiins OS REST scheme: the asic-rs captures of BOS+ 25.07, 25.11 and 26.04 in
 * ../shared/fixtures/braiins-rest read into snapshots checked against them, then the collector over
 * HTTP against the simulator's twin (token login), and its failures. The password shows in no error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import { normalizeBraiinsRest, type BraiinsRestReplies } from '../collectors/braiins-rest/normalize.js';
import type { Target } from '../collectors/contract.js';
import { createCollector } from '../collectors/registry.js';
import { parseTargetUrl } from '../collectors/target.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, REPO_ROOT, sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('braiins-rest');
const IDENTITY = { id: 'asic/10.102.0.173', kind: 'asic' as const, target: 'braiins-rest://10.102.0.173:80', labels: {}, address: '10.102.0.173' };
const SECRET = 'wrong-root-password';
const credentials = { bos: { user: 'root', password: 'root' }, wrong: { user: 'root', password: SECRET } };

function replies(version: string): BraiinsRestReplies {
  const read = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES!, 'asic-rs', version, `${file}.json`), 'utf8')) as unknown;
  return {
    details: read('miner_details') as Record<string, unknown>,
    stats: read('miner_stats') as Record<string, unknown>,
    hashboards: read('miner_hw_hashboards') as Record<string, unknown>,
    cooling: read('cooling_state') as Record<string, unknown>,
    pools: read('pools'),
    tuner: read('performance_tuner_state') as Record<string, unknown>,
  };
}

function target(url: string, timeoutMs = 3000): Target {
  const parsed = parseTargetUrl(url);
  const t: Target = { url, scheme: parsed.scheme, host: parsed.hosts[0]!, port: parsed.port, labels: {}, intervalMs: 10_000, timeoutMs };
  if (parsed.userinfo !== undefined) t.userinfo = parsed.userinfo;
  return t;
}
const poll = (url: string, timeoutMs = 3000, maxResponseBytes = 1 << 20) =>
  createCollector(target(url, timeoutMs), { maxResponseBytes, minerCredentials: () => credentials }).collect(new AbortController().signal);

describe.skipIf(FIXTURES === undefined)('Braiins OS REST captures (asic-rs)', () => {
  it('reads an S21 Pro on BOS+ 26.04: rates, approximated watts, boards, fans, pools', () => {
    const s = enrichSnapshot(normalizeBraiinsRest(replies('v26_04'), IDENTITY, new Date()));
    expect(s).toMatchObject({
      up: true,
      vendor: 'Bitmain',
      model: 'Antminer S21 Pro',
      dialect: 'braiins-rest',
      firmware: 'Braiins OS 2026-04-14-0-912d084c-26.04-plus',
      serial: 'THQGFKUBDJIAH0E9G',
      mac: '02:8F:77:EC:E7:E0',
      hashrate_hs: 248_186_677_200_025,
      nominal_hashrate_hs: 252_597_583_147_200,
      power_w: 3480,
      power_source: 'reported',
      power_limit_w: 3500,
      uptime_s: 7039,
      accepted_shares: 848,
      fans_rpm: [5943, 5943, 5943, 5973],
    });
    expect(s.boards).toHaveLength(3);
    expect(s.boards?.[0]).toMatchObject({ index: 0, status: 'ok', hashrate_hs: 83_168_431_305_218, chips: 65, chip_temperature_c: 65.375, board_temperature_c: 50.375 });
    expect(s.pools?.[0]).toEqual({
      url: 'stratum+tcp://example.pool.com:3333',
      user: 'asic_rs.test',
      status: 'alive',
      active: true,
      accepted_shares: 848,
      rejected_shares: 0,
      stale_shares: 0,
    });
    // 3480 W / 248.186677 TH/s
    expect(s.efficiency_j_per_th).toBe(14.02);
  });

  it.each(['v25_07', 'v25_11'])('reads an S19 XP on %s', (version) => {
    const s = normalizeBraiinsRest(replies(version), IDENTITY, new Date());
    expect(s).toMatchObject({ model: 'Antminer S19 XP', vendor: 'Bitmain' });
    expect(s.boards?.map((b) => b.chips)).toEqual([110, 110, 110]);
    expect(s.power_by_source_w?.reported).toBe(version === 'v25_07' ? 3137 : 2472);
  });
});

describe('Braiins OS REST plugin test data', () => {
  it('marks a disabled board dead and a slow one degraded; drops a non-MAC, 0 W and -273 °C', () => {
    const data = JSON.parse(readFileSync(path.join(REPO_ROOT, 'collectors/braiins-rest/testdata/hashboard-disabled.json'), 'utf8')) as BraiinsRestReplies;
    const s = normalizeBraiinsRest(data, IDENTITY, new Date());
    expect(s.boards?.map((b) => b.status)).toEqual(['ok', 'degraded', 'dead']);
    expect(s.error).toBe('board 3 of 3 disabled');
    expect(s.mac).toBeUndefined();
    expect(s.power_by_source_w).toBeUndefined();
    expect(s.boards?.[1]?.board_temperature_c).toBeUndefined();
    expect(s.pools).toEqual([{ url: 'stratum+tcp://pool.example:3333', user: 'w.1', status: 'dead', active: false }]);
  });
});

describe('Braiins OS REST over HTTP from the simulator', () => {
  let farm: Farm;
  const clock = () => 1_760_000_000_000;
  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [] });
    farm = await startFarm({
      devices: 2,
      seed: 12,
      mode: 'port',
      host: block.host(1),
      port: 0,
      models: [{ model: 'Antminer S21', protocol: 'braiins-rest' }],
      clock,
      failures: false,
    });
  });
  afterAll(() => farm?.stop());

  it('logs in, reads the twin and matches its reading', async () => {
    const [s] = await poll(farm.miners[0]!.url.replace('://', '://bos@'));
    const truth = farm.readingOf(0);
    expect(s).toMatchObject({
      up: true,
      vendor: 'Bitmain',
      model: 'Antminer S21',
      dialect: 'braiins-rest',
      power_by_source_w: { reported: truth.powerW },
      fans_rpm: truth.fansRpm,
    });
    expect(s!.hashrate_hs).toBe(Math.round(truth.ghs5s * 1e9));
    expect(s!.boards).toHaveLength(3);
  });

  it('needs an account, names a refused one without its password, and fails with a bounded reason', async () => {
    const url = farm.miners[1]!.url;
    await expect(poll(url)).rejects.toMatchObject({ reason: 'api_error', message: expect.stringMatching(/asks for a login/) });
    const refused = await poll(url.replace('://', '://wrong@')).catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ reason: 'api_error', message: expect.stringMatching(/"wrong" was refused/) });
    expect((refused as Error).message).not.toContain(SECRET);
    const withAccount = url.replace('://', '://bos@');
    farm.setMalformed(1, true);
    await expect(poll(withAccount)).rejects.toMatchObject({ reason: 'malformed' });
    farm.setMalformed(1, false);
    await expect(poll(withAccount, 3000, 100)).rejects.toMatchObject({ reason: 'too_large' });
    farm.hang(1);
    await expect(poll(withAccount, 300)).rejects.toMatchObject({ reason: 'timeout' });
  });
});
