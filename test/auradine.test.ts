/**
 * The Auradine scheme: the asic-rs AT1500 captures in ../shared/fixtures/auradine read into a
 * snapshot checked against them, then the collector against the simulator's Teraflux (its
 * CGMiner-like socket on 4028 and its token-guarded web API on 8080, on one loopback address), with
 * and without an account, and its failures. The account's password shows in no error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import { normalizeAuradine, type AuradineReplies } from '../collectors/auradine/normalize.js';
import type { Target } from '../collectors/contract.js';
import { createCollector } from '../collectors/registry.js';
import { parseTargetUrl } from '../collectors/target.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, REPO_ROOT, sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('auradine');
const IDENTITY = { id: 'asic/192.168.1.50', kind: 'asic' as const, target: 'auradine://192.168.1.50:8080', labels: {}, address: '192.168.1.50' };
const SECRET = 'not-the-admin-password';
const credentials = { fleet: { user: 'admin', password: 'admin' }, wrong: { user: 'admin', password: SECRET } };

function target(url: string, timeoutMs = 3000): Target {
  const parsed = parseTargetUrl(url);
  const t: Target = { url, scheme: parsed.scheme, host: parsed.hosts[0]!, port: parsed.port, labels: {}, intervalMs: 10_000, timeoutMs };
  if (parsed.userinfo !== undefined) t.userinfo = parsed.userinfo;
  if (parsed.params !== undefined) t.params = parsed.params;
  return t;
}
const poll = (url: string, timeoutMs = 3000, maxResponseBytes = 1 << 20) =>
  createCollector(target(url, timeoutMs), { maxResponseBytes, minerCredentials: () => credentials }).collect(new AbortController().signal);

describe.skipIf(FIXTURES === undefined)('Auradine captures (asic-rs, Teraflux AT1500)', () => {
  it('reads summary, devs and pools with ipreport, psu, fan, temperature and mode', () => {
    const replies: AuradineReplies = {};
    for (const name of ['summary', 'devs', 'pools', 'ipreport', 'psu', 'fan', 'temperature', 'mode'] as const) {
      replies[name] = JSON.parse(readFileSync(path.join(FIXTURES!, 'asic-rs/v1', `${name}.json`), 'utf8')) as Record<string, unknown>;
    }
    const s = enrichSnapshot(normalizeAuradine(replies, IDENTITY, new Date()));
    expect(s).toMatchObject({
      up: true,
      vendor: 'Auradine',
      model: 'Teraflux AT1500',
      dialect: 'auradine',
      serial: 'AU23200006',
      mac: '1C:00:00:0E:3B:2B',
      firmware: 'FluxOS 2023-12.27',
      hashrate_hs: 20_599_767_177_470,
      power_w: 59,
      power_source: 'reported',
      power_limit_w: 2000,
      uptime_s: 56696,
      accepted_shares: 3310,
      rejected_shares: 1,
      fans_rpm: [7080, 7020, 7100, 7020],
    });
    expect(s.boards?.map((b) => [b.index, b.status, b.hashrate_hs])).toEqual([
      [0, 'ok', 6_800_000_000_000],
      [1, 'ok', 6_900_000_000_000],
      [2, 'ok', 7_000_000_000_000],
    ]);
    expect(s.boards?.[0]).toMatchObject({ chip_temperature_c: 45.83, board_temperature_c: 41.5 });
    expect(s.pools?.[0]).toMatchObject({ url: 'stratum+tcp://btc.viabtc.io:3333', active: true, accepted_shares: 10 });
    expect(s.error).toBeUndefined();
  });
});

describe('Auradine plugin test data', () => {
  it('reads a board the firmware lists as dead, and a PSU that reports no watts', () => {
    const replies = JSON.parse(readFileSync(path.join(REPO_ROOT, 'collectors/auradine/testdata/board-dead.json'), 'utf8')) as AuradineReplies;
    const s = normalizeAuradine(replies, IDENTITY, new Date());
    expect(s.boards?.map((b) => b.status)).toEqual(['ok', 'dead']);
    expect(s.error).toBe('board 2 of 2 dead');
    expect(s.power_by_source_w).toBeUndefined();
  });
});

describe('Auradine over TCP and HTTP from the simulator', () => {
  let farm: Farm;
  const clock = () => 1_760_000_000_000;
  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [4028, 8080] });
    farm = await startFarm({ devices: 2, seed: 6, host: block.host(1), models: [{ model: 'Teraflux AT1500', also: ['auradine'] }], clock, failures: false });
  });
  afterAll(() => farm?.stop());

  it('reads both APIs with the named account and matches the twin’s reading', async () => {
    const miner = farm.miners[0]!;
    expect(miner.alsoUrls).toEqual([`auradine://${miner.host}:8080`]);
    const [s] = await poll(`auradine://fleet@${miner.host}`);
    const truth = farm.readingOf(0);
    expect(s).toMatchObject({
      up: true,
      vendor: 'Auradine',
      model: 'Teraflux AT1500',
      id: `asic/${miner.host}`,
      power_by_source_w: { reported: truth.powerW },
      fans_rpm: truth.fansRpm,
    });
    expect(s!.hashrate_hs).toBe(Math.round(Number((truth.ghs5s * 1000).toFixed(4)) * 1e6));
    expect(s!.boards).toHaveLength(3);
    expect(s!.error).toBeUndefined();
  });

  it('without an account reads the socket only and says what it left out', async () => {
    const [s] = await poll(`auradine://${farm.miners[0]!.host}`);
    expect(s).toMatchObject({ up: true, vendor: 'Auradine' });
    expect(s!.power_by_source_w).toBeUndefined();
    expect(s!.error).toMatch(/no web API account/);
  });

  it('says a refused account by name, never its password; and a bad reply by its reason', async () => {
    const host = farm.miners[1]!.host;
    const refused = await poll(`auradine://wrong@${host}`).catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ reason: 'api_error', message: expect.stringMatching(/"wrong" was refused/) });
    expect((refused as Error).message).not.toContain(SECRET);
    expect(() => parseTargetUrl(`auradine://${host}?rpc_port=x`)).toThrow(/rpc_port must be a port number/);
    await expect(poll(`auradine://fleet@${host}?rpc_port=1`)).rejects.toMatchObject({ reason: 'refused', message: expect.stringContaining(':1') });
    farm.hang(1);
    await expect(poll(`auradine://fleet@${host}`, 300)).rejects.toMatchObject({ reason: 'timeout' });
    await farm.kill(1);
    await expect(poll(`auradine://fleet@${host}`)).rejects.toMatchObject({ reason: 'refused' });
  });
});
