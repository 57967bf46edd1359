/**
 * The Goldshell scheme: the real web API replies (a CK5's devs in ../shared/fixtures, the captures of
 * an SC5 Pro II, an SC Lite, an SC-BOX, an LT5 and an HS5 beside the plugin) read into snapshots
 * checked against them by hand; then the collector against the simulator's twin (its JWT login, the
 * token race it has to retry) with and without an account, and its failures. The account's password,
 * plain or enciphered, shows in no error, not even when the login that carries it times out.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findModel } from '../agent/catalog.js';
import { enrichSnapshot } from '../agent/enrich.js';
import { normalizeReply, parseCgminerJson, toCgminerReply } from '../collectors/cgminer/index.js';
import type { Target } from '../collectors/contract.js';
import { encipher } from '../collectors/goldshell/collector.js';
import { normalizeGoldshell, type GoldshellReplies } from '../collectors/goldshell/normalize.js';
import { createCollector } from '../collectors/registry.js';
import { parseTargetUrl } from '../collectors/target.js';
import { siteTotals } from '../exporters/mqtt/change.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, REPO_ROOT, sharedFixtures } from './helpers.js';

const SHARED = sharedFixtures('cgminer/field');
const CONTRACTS = sharedFixtures('goldshell');
const TESTDATA = path.join(REPO_ROOT, 'collectors/goldshell/testdata');
const IDENTITY = { id: 'asic/192.168.1.60', kind: 'asic' as const, target: 'goldshell://192.168.1.60:80', labels: {}, address: '192.168.1.60' };
const SECRET = 'not-the-factory-password';
const credentials = { fleet: { user: 'admin', password: '123456789' }, wrong: { user: 'admin', password: SECRET } };

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const testdata = (file: string) => json(path.join(TESTDATA, file));

function target(url: string, timeoutMs = 3000): Target {
  const parsed = parseTargetUrl(url);
  const t: Target = { url, scheme: parsed.scheme, host: parsed.hosts[0]!, port: parsed.port, labels: {}, intervalMs: 10_000, timeoutMs };
  if (parsed.userinfo !== undefined) t.userinfo = parsed.userinfo;
  return t;
}
const poll = (url: string, timeoutMs = 3000) =>
  createCollector(target(url, timeoutMs), { maxResponseBytes: 1 << 20, minerCredentials: () => credentials }).collect(new AbortController().signal);

describe.skipIf(SHARED === undefined)('the CK5 capture (foreman-apps) in the shared fixtures', () => {
  it('reads boards, hashrate in MH/s, the mojibake temperatures, fans and shares, with the status, setting and pools beside it', () => {
    const replies: GoldshellReplies = {
      devs: json(path.join(SHARED!, 'goldshell-http_CK5_mcb-cgminer-devs.json')),
      status: testdata('foreman/ck5_mcb_status.json'),
      setting: testdata('foreman/ck5_mcb_setting.json'),
      pools: JSON.parse(readFileSync(path.join(TESTDATA, 'foreman/mcb_pools.json'), 'utf8')),
    };
    const s = enrichSnapshot(normalizeGoldshell(replies, IDENTITY, new Date()));
    expect(s).toMatchObject({
      up: true,
      vendor: 'Goldshell',
      model: 'Goldshell CK5',
      algorithm: 'eaglesong',
      dialect: 'goldshell',
      firmware: '2.0.1',
      mac: '28:E2:97:4D:55:10',
      uptime_s: 1293,
      fans_rpm: [2940, 2940, 2940, 2940],
      // foreman-apps' own expectations for this reply: 12452062363999.9993 H/s, 890282 accepted, 17760 rejected.
      hashrate_hs: 12_452_062_364_000,
      accepted_shares: 890_282,
      rejected_shares: 17_760,
      hardware_errors: 497 + 224 + 189 + 151,
      nominal_hashrate_hs: 12e12,
      // No figure from the firmware: the CK5 row's 200 J/TH × 12.452 TH/s.
      power_w: 2490,
      power_source: 'estimated',
    });
    expect(s.boards?.map((b) => [b.index, b.status, b.hashrate_hs, b.board_temperature_c])).toEqual([
      [0, 'ok', 2_992_548_779_000, 83],
      [1, 'ok', 3_240_137_484_000, 83],
      [2, 'ok', 3_205_471_732_000, 84],
      [3, 'ok', 3_013_904_369_000, 84],
    ]);
    expect(s.pools).toEqual([
      { url: 'stratum+tcp://us-ckb.2miners.com:6464', user: '[REDACTED]', active: true },
      { url: 'stratum+tcp://ckb.f2pool.com:4300', user: '[REDACTED]', active: false },
    ]);
    expect(JSON.stringify(s)).not.toContain('pass');
    expect(s.error).toBeUndefined();
  });
});

describe.skipIf(CONTRACTS === undefined)('the asic-rs status contract (synthetic) in the shared fixtures', () => {
  it('names no model for a bare "Goldshell", and still never takes it for SHA-256', () => {
    const s = normalizeGoldshell({ status: json(path.join(CONTRACTS!, 'asic-rs/status_contract.json')) }, IDENTITY, new Date());
    expect(s).toMatchObject({ vendor: 'Goldshell', firmware: '2.2.0', algorithm: 'unknown' });
    expect(s.model).toBeUndefined();
    expect(s.boards).toBeUndefined();
  });
});

describe('Goldshell captures beside the plugin', () => {
  it('an SC5 Pro II on 2.2.0: the roman Ⅱ in its model, a MAC with a leading space, fans read a moment apart on each row', () => {
    const s = normalizeGoldshell(
      { status: testdata('sc5proii/mcb_status.json'), setting: testdata('sc5proii/mcb_setting.json'), devs: testdata('sc5proii/cgminer_devs.json') },
      IDENTITY,
      new Date(),
    );
    expect(s).toMatchObject({ model: 'Goldshell SC5 Pro II', algorithm: 'blake2b', firmware: '2.2.0', mac: '00:11:22:33:44:55', uptime_s: 1869 });
    expect(s.hashrate_hs).toBe(3_631_894_088_000 + 3_708_167_799_000 + 3_838_561_044_000 + 3_733_709_769_000);
    expect(s.boards?.map((b) => b.board_temperature_c)).toEqual([77.7, 77, 79.4, 72.6]);
    expect(s.temperatures_c).toMatchObject({ board0_pcb: 77.7, pcb_max: 79.4 });
    // Rows 0-1 read fan 2 at 3120 rpm, rows 2-3 at 3180: the slowest is kept.
    expect(s.fans_rpm).toEqual([3180, 3120, 3300, 3360]);
  });

  it('an SC Lite and an SC-BOX name their catalog rows', () => {
    const lite = normalizeGoldshell({ status: testdata('sclite/mcb_status.json'), devs: testdata('sclite/cgminer_devs.json') }, IDENTITY, new Date());
    expect(lite).toMatchObject({ model: 'Goldshell SC Lite', algorithm: 'blake2b', fans_rpm: [1500, 1500, 1500, 1500] });
    expect(lite.boards?.map((b) => b.board_temperature_c)).toEqual([67.1, 66.4, 68.1, 67.6]);
    const box = normalizeGoldshell({ status: testdata('scbox/mcb_status.json'), setting: testdata('scbox/mcb_setting.json') }, IDENTITY, new Date());
    expect(box).toMatchObject({ model: 'Goldshell SC Box', algorithm: 'blake2b', firmware: '2.2.5' });
  });

  it("an LT5's four named sensors (0.0 for the absent ones) and an HS5's two readings a board", () => {
    const lt5 = normalizeGoldshell({ devs: testdata('foreman/lt5_mcb_cgminer_devs.json') }, IDENTITY, new Date());
    expect(lt5.boards?.map((b) => b.board_temperature_c)).toEqual([73.8, 77.8, 80.2, 78.1]);
    expect(lt5).toMatchObject({ fans_rpm: [6060, 6120], hashrate_hs: 2_115_553_000, algorithm: 'unknown' });
    const hs5 = normalizeGoldshell({ devs: testdata('foreman/hs5_mcb_cgminer_devs.json') }, IDENTITY, new Date());
    expect(hs5.boards?.map((b) => b.board_temperature_c)).toEqual([82, 82.1, 85.3, 86.7]);
    expect(hs5.hashrate_hs).toBe(1_310_382_019_000 + 1_405_026_764_000 + 1_225_742_980_000 + 1_426_696_874_000);
  });

  it('marks a board that does not hash while the others do, and keeps out what is not a number', () => {
    const devs = testdata('sc5proii/cgminer_devs.json') as { data: Record<string, unknown>[] };
    devs.data[2] = { ...devs.data[2], hashrate: 0, av_hashrate: 0, temp: 'n/a', fanspeed: '-1 rpm / 1e999 rpm' };
    const s = normalizeGoldshell({ devs }, IDENTITY, new Date());
    expect(s.boards?.map((b) => b.status)).toEqual(['ok', 'ok', 'dead', 'ok']);
    expect(s.boards?.[2]?.board_temperature_c).toBeUndefined();
    expect(s.error).toBe('board 3 of 4 not hashing');
  });

  it('the catalog finds every model string a capture reports, the roman Ⅱ included', () => {
    expect(findModel('Goldshell-SC5Pro\u2161')?.model).toBe('Goldshell SC5 Pro II');
    expect(findModel('Goldshell-SC5Pro')).toBeUndefined();
    expect(findModel('Goldshell-SCLITE')?.model).toBe('Goldshell SC Lite');
    expect(findModel('Goldshell-SCBox')?.model).toBe('Goldshell SC Box');
    expect(findModel('Goldshell-CK5')?.algorithm).toBe('eaglesong');
    expect(findModel('Goldshell')).toBeUndefined();
  });

  it('the CGMiner socket of an SC5 Pro II (intminer) read by the generic reader: Goldshell, never SHA-256', () => {
    const text = readFileSync(path.join(TESTDATA, 'sc5proii/api4028_summary.json'), 'utf8');
    const t: Target = { url: 'cgminer://192.168.1.60:4028', scheme: 'cgminer', host: '192.168.1.60', port: 4028, labels: {}, intervalMs: 10_000, timeoutMs: 3000 };
    const s = normalizeReply(toCgminerReply(parseCgminerJson(text).value, 'summary'), { target: t, observedAt: new Date() });
    // The generic reader knows no 20 s window ("MHS 20s"): it takes "MHS av".
    expect(s).toMatchObject({ dialect: 'cgminer', vendor: 'Goldshell', algorithm: 'unknown', hashrate_hs: 13_985_507_461_000, uptime_s: 8317 });
  });

  it("enciphers a password as the web UI does (pyasic's cipher of the factory password)", () => {
    expect(encipher('123456789')).toBe('bbad7537f4c8b6ea31eea0b3d760e257');
    expect(encipher('a-password-longer-than-16')).toHaveLength(64);
  });
});

describe('Goldshell over HTTP from the simulator', () => {
  let farm: Farm;
  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [80] });
    farm = await startFarm({
      devices: 3,
      seed: 9,
      host: block.host(1),
      models: [
        { model: 'Goldshell KD6', protocol: 'goldshell' },
        { model: 'Goldshell SC5 Pro II', protocol: 'goldshell' },
        { model: 'Goldshell Mini-DOGE Pro', protocol: 'goldshell' },
      ],
      clock: () => 1_760_000_000_000,
      failures: false,
    });
  });
  afterAll(() => farm?.stop());

  it("reads the twin with the named account through its token race, and matches the twin's reading", async () => {
    const miner = farm.miners[0]!;
    expect(miner.url).toBe(`goldshell://${miner.host}:80`);
    // The twin refuses the third guarded request of its life (the setting): the collector renews and retries.
    const [s] = await poll(`goldshell://fleet@${miner.host}`);
    const truth = farm.readingOf(0);
    expect(s).toMatchObject({ up: true, vendor: 'Goldshell', model: 'Goldshell KD6', algorithm: 'blake2s', id: `asic/${miner.host}`, fans_rpm: truth.fansRpm });
    expect(s!.mac).toMatch(/^28:E2:97:/);
    expect(s!.boards).toHaveLength(truth.boards.length);
    const expected = truth.boards.reduce((sum, b) => sum + Math.round(Math.round(b.hashrateGhs * 1e6) * 1e3), 0);
    expect(s!.hashrate_hs).toBe(expected);
    expect(s!.pools?.[0]).toEqual({ url: 'stratum+tcp://kda.pool.example:3700', user: expect.stringMatching(/^farm\.sim/), active: true });
    expect(s!.error).toBeUndefined();
    const [again] = await poll(`goldshell://fleet@${farm.miners[1]!.host}`);
    expect(again).toMatchObject({ model: 'Goldshell SC5 Pro II', algorithm: 'blake2b' });
    // The MQTT site message adds up SHA-256 hashrate only; the two boxes' watts still count.
    const totals = siteTotals('tx1', [enrichSnapshot(s!), enrichSnapshot(again!)], undefined, new Date());
    expect(totals).toMatchObject({ up: 2, hashrate_hs: 0, power_w: s!.power_w! + again!.power_w! });
    expect(totals.power_w).toBeGreaterThan(0);
  });

  it('without an account reads the status only and says what it left out', async () => {
    const [s] = await poll(`goldshell://${farm.miners[2]!.host}`);
    expect(s).toMatchObject({ up: true, vendor: 'Goldshell', model: 'Goldshell Mini-DOGE Pro', algorithm: 'scrypt' });
    expect(s!.hashrate_hs).toBeUndefined();
    expect(s!.error).toMatch(/^no web API account \(goldshell:\/\/NAME@HOST\): hashrate/);
  });

  it('says a refused account by name, never its password; a missing entry; a hung and a dead miner', async () => {
    const host = farm.miners[2]!.host;
    const refused = await poll(`goldshell://wrong@${host}`).catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ reason: 'api_error', message: expect.stringMatching(/"wrong" was refused \(HTTP 401\)/) });
    expect((refused as Error).message).not.toContain(SECRET);
    expect((refused as Error).message).not.toContain(encipher(SECRET));
    await expect(poll(`goldshell://nobody@${host}`)).rejects.toMatchObject({ reason: 'other', message: expect.stringMatching(/no miner_credentials entry named "nobody"/) });
    farm.setMalformed(2, true);
    await expect(poll(`goldshell://fleet@${host}`)).rejects.toMatchObject({ reason: 'malformed', message: `${host}:80/mcb/status: reply is not JSON` });
    farm.setMalformed(2, false);
    farm.hang(2);
    await expect(poll(`goldshell://fleet@${host}`, 300)).rejects.toMatchObject({ reason: 'timeout' });
    await farm.kill(2);
    await expect(poll(`goldshell://fleet@${host}`)).rejects.toMatchObject({ reason: 'refused' });
  });
});

describe('a Goldshell whose login never answers and whose devs answer HTTP 500', () => {
  let server: Server;
  let host: string;
  let port: number;
  beforeAll(async () => {
    host = (await freeLoopbackBlock({ ports: [] })).host(1);
    server = createServer((req, res) => {
      if (req.url === '/mcb/status') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"model":"Goldshell-SCBox","firmware":"2.2.5"}');
      } else if (req.url === '/mcb/cgminer?cgminercmd=devs') {
        // What an SC-BOX answers here.
        res.writeHead(500);
        res.end();
      }
      // Anything else (the login) is left hanging.
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('times out naming the login, not the URL that carries the password', async () => {
    const err = (await poll(`goldshell://wrong@${host}:${port}`, 300).catch((e: unknown) => e)) as Error & { reason: string };
    expect(err.reason).toBe('timeout');
    expect(err.message).toMatch(/^[\d.]+:\d+\/user\/login: no complete reply within \d+ ms$/);
    expect(err.message).not.toContain(encipher(SECRET));
  });

  it('is up with its model when its devs answer 500, and says what that leaves out', async () => {
    const [s] = await poll(`goldshell://${host}:${port}`);
    expect(s).toMatchObject({
      up: true,
      model: 'Goldshell SC Box',
      algorithm: 'blake2b',
      error: '/mcb/cgminer?cgminercmd=devs answered HTTP 500: hashrate, boards, fans and temperatures not read',
    });
  });
});
