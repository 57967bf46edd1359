/**
 * The Antminer web API scheme: the captures in ../shared/fixtures/antminer-web (S23 Hyd. stats and
 * summary, S21 system info) read into snapshots checked against them; digest auth against the RFC's
 * own example; the collector over real HTTP against the simulator's twin, with and without the account,
 * and each way a poll fails. The account's password never shows in an error.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import { digestAuthorization, digestMatches, parseDigestChallenge } from '../collectors/antminer-web/digest.js';
import { normalizeAntminerWeb } from '../collectors/antminer-web/normalize.js';
import type { Target } from '../collectors/contract.js';
import { createCollector } from '../collectors/registry.js';
import { parseTargetUrl } from '../collectors/target.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, REPO_ROOT, sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('antminer-web');
const present = FIXTURES !== undefined;
const json = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES!, 'asic-rs', file), 'utf8')) as Record<string, unknown>;
const IDENTITY = { id: 'asic/10.0.0.5', kind: 'asic' as const, target: 'antminer-web://10.0.0.5:80', labels: {}, address: '10.0.0.5' };
const SECRET = 'root-pass-do-not-print';
const credentials = { farm: { user: 'root', password: 'root' }, wrong: { user: 'root', password: SECRET } };

function target(url: string, timeoutMs = 2000): Target {
  const parsed = parseTargetUrl(url);
  const t: Target = { url, scheme: parsed.scheme, host: parsed.hosts[0]!, port: parsed.port, labels: {}, intervalMs: 10_000, timeoutMs };
  if (parsed.userinfo !== undefined) t.userinfo = parsed.userinfo;
  return t;
}

const poll = (url: string, timeoutMs = 2000, maxResponseBytes = 1 << 20) =>
  createCollector(target(url, timeoutMs), { maxResponseBytes, minerCredentials: () => credentials }).collect(new AbortController().signal);

describe.skipIf(!present)('Antminer web API captures', () => {
  it('reads the S23 Hyd. stats.cgi and summary.cgi captured on a stock unit', () => {
    const s = enrichSnapshot(
      normalizeAntminerWeb({ stats: json('v2023_07/s23_hydro_web_stats_captured.json'), summary: json('v2023_07/s23_hydro_web_summary_captured.json') }, IDENTITY, new Date()),
    );
    expect(s).toMatchObject({
      up: true,
      vendor: 'Bitmain',
      dialect: 'antminer-web',
      hashrate_hs: 572_845_560_000_000,
      nominal_hashrate_hs: 581_972_700_000_000,
      power_w: 5525,
      power_source: 'reported',
      uptime_s: 167431,
      hardware_errors: 551,
      fans_rpm: [],
    });
    expect(s.model).toBe('Antminer S23 Hyd.');
    expect(s.boards).toEqual([
      {
        index: 0,
        status: 'ok',
        hashrate_hs: 188_896_100_000_000,
        nominal_hashrate_hs: 194_099_100_000_000,
        chip_temperature_c: 56,
        board_temperature_c: 52,
        chips: 84,
        chips_expected: 84,
      },
      {
        index: 1,
        status: 'ok',
        hashrate_hs: 192_194_630_000_000,
        nominal_hashrate_hs: 193_974_800_000_000,
        chip_temperature_c: 55,
        board_temperature_c: 52,
        chips: 84,
        chips_expected: 84,
      },
      {
        index: 2,
        status: 'ok',
        hashrate_hs: 191_754_830_000_000,
        nominal_hashrate_hs: 193_898_800_000_000,
        chip_temperature_c: 56,
        board_temperature_c: 52,
        chips: 84,
        chips_expected: 84,
      },
    ]);
    expect(s.temperatures_c).toMatchObject({ chip_max: 56, pcb_max: 52, board0_chip: 56, board2_pcb: 52 });
    // 5525 W / 572.84556 TH/s; the hydro unit's unmonitored fans (status "") are no fault
    expect(s.efficiency_j_per_th).toBe(9.64);
    expect(s.error).toBeUndefined();
  });

  it('names an S21 from get_system_info.cgi, and drops the MAC that is not one', () => {
    const s = normalizeAntminerWeb({ systemInfo: json('v2020/system_info.json') }, IDENTITY, new Date());
    expect(s).toMatchObject({ model: 'Antminer S21', serial: 'THQING0BDJAB024NF', firmware: 'FR-1.12(251009-S21)' });
    expect(s.mac).toBeUndefined();
  });
});

describe('digest authentication', () => {
  it('answers the RFC 2617 example challenge with its published response', () => {
    const challenge = parseDigestChallenge(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    expect(challenge).toBeDefined();
    const header = digestAuthorization(challenge!, 'Mufasa', 'Circle Of Life', '/dir/index.html', 1, '0a4f113b');
    expect(header).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(header).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    expect(digestMatches(header, 'testrealm@host.com', 'Mufasa', 'Circle Of Life', 'GET')).toBe(true);
    expect(digestMatches(header, 'testrealm@host.com', 'Mufasa', 'wrong', 'GET')).toBe(false);
  });

  it('declines what it does not implement: Basic, SHA-256, a challenge without a nonce', () => {
    expect(parseDigestChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseDigestChallenge('Digest realm="x", nonce="n", algorithm=SHA-256')).toBeUndefined();
    expect(parseDigestChallenge('Digest realm="x"')).toBeUndefined();
  });

  it('keeps the plugin test data: a 401 challenge as the stock firmware sends it', () => {
    const header = readFileSync(path.join(REPO_ROOT, 'collectors/antminer-web/testdata/www-authenticate.txt'), 'utf8').trim();
    expect(parseDigestChallenge(header)).toMatchObject({ realm: 'antMiner Configuration', qop: 'auth' });
  });
});

describe('Antminer web API over HTTP from the simulator', () => {
  let farm: Farm;
  const clock = () => 1_760_000_000_000;

  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [] });
    farm = await startFarm({
      devices: 2,
      seed: 3,
      mode: 'port',
      host: block.host(1),
      port: 0,
      models: [{ model: 'Antminer S21', protocol: 'antminer-web' }],
      clock,
      failures: false,
    });
  });
  afterAll(() => farm?.stop());

  it('logs in with the named account and matches the twin’s reading', async () => {
    const miner = farm.miners[0]!;
    const [s] = await poll(miner.url.replace('://', '://farm@'));
    const truth = farm.readingOf(0);
    expect(s).toMatchObject({ up: true, vendor: 'Bitmain', model: 'Antminer S21', dialect: 'antminer-web', firmware: 'FR-1.12(251009-S21)' });
    expect(s!.serial).toMatch(/^SMTSIM/);
    expect(s!.mac).toMatch(/^02:55:97:/);
    expect(s!.hashrate_hs).toBe(Math.round((Math.round(truth.ghs5s * 100) / 100) * 1e9));
    expect(s!.power_by_source_w).toEqual({ reported: truth.powerW });
    expect(s!.boards).toHaveLength(3);
    expect(s!.fans_rpm).toEqual(truth.fansRpm);
    expect(s!.pools?.[0]).toMatchObject({ url: 'stratum+tcp://btc.pool.example:3333', accepted_shares: truth.accepted });
  });

  it('says a login is needed, or refused, without printing the password', async () => {
    const url = farm.miners[0]!.url;
    await expect(poll(url)).rejects.toMatchObject({ reason: 'api_error', message: expect.stringMatching(/asks for a login/) });
    const refused = await poll(url.replace('://', '://wrong@')).catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ reason: 'api_error', message: expect.stringMatching(/"wrong" was refused/) });
    expect((refused as Error).message).not.toContain(SECRET);
    await expect(poll(url.replace('://', '://nobody@'))).rejects.toMatchObject({ message: expect.stringMatching(/no miner_credentials entry named "nobody"/) });
  });

  it('rejects with a bounded reason: malformed, too large, timeout, refused', async () => {
    const url = farm.miners[1]!.url.replace('://', '://farm@');
    farm.setMalformed(1, true);
    await expect(poll(url)).rejects.toMatchObject({ reason: 'malformed' });
    farm.setMalformed(1, false);
    await expect(poll(url, 2000, 200)).rejects.toMatchObject({ reason: 'too_large' });
    farm.hang(1);
    await expect(poll(url, 300)).rejects.toMatchObject({ reason: 'timeout' });
    await farm.kill(1);
    await expect(poll(url)).rejects.toMatchObject({ reason: 'refused' });
    await farm.revive(1);
  });

  it('does not follow a redirect to another host', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(302, { location: 'http://198.51.100.7/cgi-bin/stats.cgi' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      await expect(poll(`antminer-web://127.0.0.1:${port}`)).rejects.toMatchObject({ reason: 'api_error', message: expect.stringMatching(/redirects are not followed/) });
    } finally {
      server.close();
    }
  });
});
