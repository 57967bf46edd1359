/**
 * The Proto scheme: every reply in ../shared/fixtures/proto (the vendor simulator's output as asic-rs
 * keeps it) read into a snapshot checked against them, the hand-made degraded rig, then the collector
 * over HTTP against the simulator's twin (bearer login) and against a bare node:http server for what the
 * twin does not do (a token gone stale, a 204, the factory-password lock), and a scan naming a rig.
 * The password shows in no error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import { scan } from '../collectors/cgminer/discovery.js';
import type { Target } from '../collectors/contract.js';
import { identifyProto } from '../collectors/proto/collector.js';
import { normalizeProto, protoSystemIdentity, type ProtoReplies } from '../collectors/proto/normalize.js';
import { createCollector } from '../collectors/registry.js';
import { floorProtocols } from '../collectors/scan-protocols.js';
import { parseTargetUrl } from '../collectors/target.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { PROTO_TWIN_PASSWORD } from '../simulator/protocols/proto.js';
import { freeLoopbackBlock, freePorts, REPO_ROOT, sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('proto');
const IDENTITY = { id: 'asic/10.0.82.7', kind: 'asic' as const, target: 'proto://10.0.82.7:80', labels: {}, address: '10.0.82.7' };
const SECRET = 'wrong-onboarding-password';
const credentials = { protos: { user: 'admin', password: PROTO_TWIN_PASSWORD }, wrong: { user: 'admin', password: SECRET } };
/** Each fixture file by the reply it is; a file added upstream and not read here fails the first test. */
const FILES: Readonly<Record<string, keyof ProtoReplies>> = {
  'system.json': 'system',
  'network.json': 'network',
  'hardware.json': 'hardware',
  'mining.json': 'mining',
  'telemetry_full.json': 'telemetry',
  'cooling.json': 'cooling',
  'pools.json': 'pools',
  'errors.json': 'errors',
};

function target(url: string, timeoutMs = 3000): Target {
  const parsed = parseTargetUrl(url);
  const t: Target = { url, scheme: parsed.scheme, host: parsed.hosts[0]!, port: parsed.port, labels: {}, intervalMs: 10_000, timeoutMs };
  if (parsed.userinfo !== undefined) t.userinfo = parsed.userinfo;
  return t;
}
const collector = (url: string, timeoutMs = 3000, maxResponseBytes = 1 << 20) => createCollector(target(url, timeoutMs), { maxResponseBytes, minerCredentials: () => credentials });
const poll = (url: string, timeoutMs?: number, maxResponseBytes?: number) => collector(url, timeoutMs, maxResponseBytes).collect(new AbortController().signal);

describe.skipIf(FIXTURES === undefined)('Proto simulator replies (asic-rs, ProtoOS 1.8.0)', () => {
  const dir = () => path.join(FIXTURES!, 'asic-rs/v1');

  it('reads every reply: identity, PSU input power, boards by slot, fans, pools', () => {
    expect(readdirSync(dir()).sort()).toEqual(Object.keys(FILES).sort());
    const replies: ProtoReplies = {};
    for (const [file, key] of Object.entries(FILES)) (replies as Record<string, unknown>)[key] = JSON.parse(readFileSync(path.join(dir(), file), 'utf8'));
    const s = enrichSnapshot(normalizeProto(replies, IDENTITY, new Date()));
    expect(s).toMatchObject({
      up: true,
      vendor: 'Proto',
      model: 'Proto Rig',
      dialect: 'proto',
      firmware: 'ProtoOS 1.8.0',
      serial: 'PROTO-SIM-b6bdaf86',
      mac: '02:00:00:AD:66:39',
      // telemetry miner.hashrate 135.47567610136747 TH/s
      hashrate_hs: 135_475_676_101_367,
      // mining ideal_hashrate_ghs 145000
      nominal_hashrate_hs: 145e12,
      // PSU inputs 1774.49 + 1751.85 W, not the boards' 3466.40 W nor mining's 3447.01 W
      power_w: 3526,
      power_source: 'reported',
      power_limit_w: 3400,
      uptime_s: 28,
      hardware_errors: 0,
      fans_rpm: [4346, 4691, 4658, 4443],
      // 12345 + 12345 and 10 + 10 over the two pools
      accepted_shares: 24_690,
      rejected_shares: 20,
    });
    expect(s.error).toBeUndefined();
    // 3526 W / 135.475676 TH/s
    expect(s.efficiency_j_per_th).toBe(26.03);
    expect(s.boards).toEqual([
      { index: 0, status: 'ok', chips_expected: 120, hashrate_hs: 36_448_480_530_069, board_temperature_c: 55.241942214972724 },
      { index: 1, status: 'ok', chips_expected: 120, hashrate_hs: 33_618_811_133_185, board_temperature_c: 54.978843834992624 },
      { index: 2, status: 'ok', chips_expected: 120, hashrate_hs: 35_789_540_032_030, board_temperature_c: 55.43768806658174 },
      { index: 3, status: 'ok', chips_expected: 120, hashrate_hs: 36_166_744_497_812, board_temperature_c: 53.387135818884865 },
    ]);
    expect(s.temperatures_c).toMatchObject({ chip_avg: 71.90268170247448, psu_max: 46.88156237410087, pcb_max: 55.43768806658174 });
    expect(s.pools?.[0]).toEqual({ url: 'stratum+tcp://pool-a.example.com:3333', user: 'worker-a', status: 'Active', active: true, accepted_shares: 12345, rejected_shares: 10 });
  });

  it('names the rig from /api/v1/system alone, and nothing else', () => {
    const system = JSON.parse(readFileSync(path.join(dir(), 'system.json'), 'utf8')) as Record<string, unknown>;
    expect(protoSystemIdentity(system)).toEqual({ vendor: 'Proto', model: 'Proto Rig', firmware: 'ProtoOS 1.8.0' });
    const network = JSON.parse(readFileSync(path.join(dir(), 'network.json'), 'utf8')) as Record<string, unknown>;
    expect(protoSystemIdentity(network)).toBeUndefined();
  });
});

describe('Proto plugin test data', () => {
  it('marks a silent and a missing board dead, quotes three alerts, drops unknown units, a non-MAC and -273 °C', () => {
    const data = JSON.parse(readFileSync(path.join(REPO_ROOT, 'collectors/proto/testdata/degraded-rig.json'), 'utf8')) as ProtoReplies;
    const s = normalizeProto(data, IDENTITY, new Date());
    // 40000 GH/s from telemetry, before mining's 39000
    expect(s.hashrate_hs).toBe(40e12);
    // one PSU in kW: not every PSU says watts, so the rig's own 1480 W
    expect(s.power_by_source_w).toEqual({ reported: 1480 });
    expect(s.boards).toEqual([
      { index: 0, status: 'ok', chips_expected: 128, hashrate_hs: 40e12, board_temperature_c: 62 },
      { index: 2, status: 'dead', chips_expected: 128, hashrate_hs: 0, board_temperature_c: 31 },
      { index: 3, status: 'dead', chips_expected: 192 },
    ]);
    expect(s.error).toMatch(/^mining status DegradedMining; board in slot 3 not hashing; board in slot 4 not reporting; hashboard 3: Hashboard 3 is not mining; fan 1: /);
    expect(s.error).toMatch(/; psu 2: PSU_FAULT; 2 more alerts$/);
    expect(s.error!.split('; ').every((part) => part.length <= 120)).toBe(true);
    expect(s.mac).toBeUndefined();
    expect(s.temperatures_c).toEqual({ psu_max: 48, board0_pcb: 62, board2_pcb: 31, pcb_max: 62 });
    expect(s.fans_rpm).toEqual([0, 3000]);
    expect(s.pools?.map((p) => [p.url, p.status, p.active])).toEqual([
      ['stratum+tcp://pool.example:3333', 'Active', true],
      ['stratum+tcp://backup.example:3333', 'Dead', false],
    ]);
  });
});

describe('Proto over HTTP from the simulator', () => {
  let farm: Farm;
  const clock = () => 1_760_000_000_000;
  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [] });
    farm = await startFarm({ devices: 2, seed: 21, mode: 'port', host: block.host(1), port: 0, models: [{ model: 'Proto Rig', protocol: 'proto' }], clock, failures: false });
  });
  afterAll(() => farm?.stop());

  it('logs in, reads the twin and matches its reading', async () => {
    const [s] = await poll(farm.miners[0]!.url.replace('://', '://protos@'));
    const truth = farm.readingOf(0);
    expect(s).toMatchObject({
      up: true,
      vendor: 'Proto',
      model: 'Proto Rig',
      dialect: 'proto',
      firmware: 'ProtoOS 1.8.0',
      power_by_source_w: { reported: Math.round(truth.powerW) },
      fans_rpm: truth.fansRpm,
    });
    expect(s!.hashrate_hs).toBe(Math.round((truth.ghs5s / 1000) * 1e12));
    expect(s!.boards).toHaveLength(4);
    expect(s!.error).toBeUndefined();
  });

  it('without an account names the rig and says what it left out', async () => {
    const [s] = await poll(farm.miners[0]!.url);
    expect(s).toMatchObject({ up: true, vendor: 'Proto', model: 'Proto Rig', serial: 'PROTO-SIM-00000000' });
    expect(s!.hashrate_hs).toBeUndefined();
    expect(s!.boards).toBeUndefined();
    expect(s!.error).toMatch(/^no account \(proto:\/\/NAME@HOST\): hashrate, power/);
  });

  it('names a refused account without its password, and fails with a bounded reason', async () => {
    const url = farm.miners[1]!.url;
    await expect(poll(url.replace('://', '://nobody@'))).rejects.toMatchObject({ reason: 'other', message: expect.stringMatching(/no miner_credentials entry named "nobody"/) });
    const refused = await poll(url.replace('://', '://wrong@')).catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ reason: 'api_error', message: expect.stringMatching(/"wrong" was refused \(HTTP 401\)/) });
    expect((refused as Error).message).not.toContain(SECRET);
    const withAccount = url.replace('://', '://protos@');
    farm.setMalformed(1, true);
    await expect(poll(withAccount)).rejects.toMatchObject({ reason: 'malformed' });
    farm.setMalformed(1, false);
    await expect(poll(withAccount, 3000, 100)).rejects.toMatchObject({ reason: 'too_large' });
    farm.hang(1);
    await expect(poll(withAccount, 300)).rejects.toMatchObject({ reason: 'timeout' });
    await farm.kill(1);
    await expect(poll(withAccount)).rejects.toMatchObject({ reason: 'refused' });
  });
});

describe('Proto login against a bare HTTP server', () => {
  let server: Server;
  let base: string;
  let logins = 0;
  let behaviour: 'stale-token' | 'locked' | 'bad-token' | 'rebooting' = 'stale-token';
  let systemReads = 0;
  let uptime = 0;
  const data = JSON.parse(readFileSync(path.join(REPO_ROOT, 'collectors/proto/testdata/degraded-rig.json'), 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [] });
    let live = '';
    server = createServer((req, res) => {
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const name = (req.url ?? '').split('?', 1)[0]!.replace(/^\/api\/v1\//, '');
      if (name === 'auth/login') {
        logins++;
        if (behaviour === 'locked') return send(403, { error: { code: 'DEFAULT_PASSWORD_ACTIVE', message: 'default password must be changed' } });
        live = behaviour === 'bad-token' ? 'abc\r\nx-injected: 1' : `t${logins}`;
        return send(200, { access_token: live, refresh_token: 'r' });
      }
      if (name === 'system') systemReads++;
      if (name in data && ['system', 'network', 'hardware'].includes(name)) return send(200, data[name]);
      if (req.headers.authorization !== `Bearer ${live}`) return send(401, { message: 'Unauthorized' });
      // A token is good for one read here: every poll must renew it once, and only once per read.
      if (behaviour === 'stale-token') live = 'expired';
      if (name === 'mining') return behaviour === 'rebooting' ? send(200, { 'mining-status': { reboot_uptime_s: uptime } }) : send(204, undefined);
      return send(200, data[name.split('?')[0]!]);
    });
    await new Promise<void>((resolve) => server.listen(0, block.host(1), resolve));
    base = `proto://protos@${block.host(1)}:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  it('renews a token the rig no longer takes, and reads a 204 from mining as no statistics', async () => {
    behaviour = 'stale-token';
    logins = 0;
    const [s] = await poll(base);
    // one login per authenticated read: mining, telemetry, cooling, pools, errors
    expect(logins).toBe(5);
    expect(s).toMatchObject({ up: true, model: 'Proto Rig', hashrate_hs: 40e12, fans_rpm: [0, 3000] });
    expect(s!.power_limit_w).toBeUndefined();
    expect(s!.error).not.toMatch(/mining status/);
  });

  it('reads system once, and again only after the rig rebooted (a firmware update takes effect then)', async () => {
    behaviour = 'rebooting';
    systemReads = 0;
    const rig = collector(base);
    const signal = new AbortController().signal;
    for (const seconds of [100, 200, 5, 30]) {
      uptime = seconds;
      await rig.collect(signal);
    }
    expect(systemReads).toBe(2);
  });

  it('says a rig still on its factory password is locked, and refuses a token that is no header', async () => {
    behaviour = 'locked';
    await expect(poll(base)).rejects.toMatchObject({ reason: 'api_error', message: expect.stringMatching(/still has its factory password/) });
    behaviour = 'bad-token';
    await expect(poll(base)).rejects.toMatchObject({ reason: 'malformed', message: expect.stringMatching(/no usable access_token/) });
  });
});

describe('scan names a Proto rig among the web APIs on one port', () => {
  let farm: Farm;
  let block: Awaited<ReturnType<typeof freeLoopbackBlock>>;
  let CGMINER: number;
  let WEB: number;
  const webPorts = () => ({ 'antminer-web': WEB, bitaxe: WEB, proto: WEB });
  beforeAll(async () => {
    [CGMINER, WEB] = (await freePorts(2)) as [number, number];
    block = await freeLoopbackBlock({ ports: [CGMINER, WEB] });
    farm = await startFarm({
      devices: 3,
      seed: 22,
      host: block.host(1),
      port: CGMINER,
      protocolPorts: webPorts(),
      models: [
        { model: 'Proto Rig', protocol: 'proto' },
        { model: 'Bitaxe Gamma', protocol: 'bitaxe' },
        { model: 'Antminer S21 Pro', protocol: 'antminer-web' },
      ],
      failures: false,
      clock: () => 1_760_000_000_000,
    });
  });
  afterAll(() => farm?.stop());

  it('identifies it without an account, and the other makes on the same port as before', async () => {
    const result = await scan({ ranges: [block.cidr(29)], port: CGMINER, protocols: floorProtocols(webPorts()), identifyTimeoutMs: 5000, probeConcurrency: 16 });
    expect(result.identified.map((m) => [m.host, m.protocol, m.model, m.firmware])).toEqual([
      [block.host(1), 'proto', 'Proto Rig', 'ProtoOS 1.8.0'],
      [block.host(2), 'bitaxe', 'Bitaxe Gamma', expect.any(String)],
      [block.host(3), 'antminer-web', undefined, undefined],
    ]);
    expect(result.identified[0]!.url).toBe(farm.miners[0]!.url);
    await expect(identifyProto(block.host(2), WEB, { timeoutMs: 2000, signal: new AbortController().signal, maxResponseBytes: 1 << 20 })).rejects.toMatchObject({
      reason: 'api_error',
    });
  });
});
