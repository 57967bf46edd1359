/**
 * The Whatsminer API v3 scheme: every capture in ../shared/fixtures/whatsminer-v3 read into a
 * snapshot whose figures are checked against the capture, then the collector over real TCP against
 * the simulator's twin (length-prefixed JSON on its own loopback address), and each way a poll fails.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import type { Target } from '../collectors/contract.js';
import { createCollector } from '../collectors/registry.js';
import { parseTargetUrl } from '../collectors/target.js';
import { parseV3Reply } from '../collectors/whatsminer-v3/client.js';
import { normalizeV3 } from '../collectors/whatsminer-v3/normalize.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, REPO_ROOT, sharedFixtures } from './helpers.js';

const FIXTURES = sharedFixtures('whatsminer-v3');
const present = FIXTURES !== undefined;

function capture(file: string): Record<string, unknown> {
  const reply = parseV3Reply(readFileSync(path.join(FIXTURES!, 'asic-rs', file), 'utf8'));
  if (typeof reply === 'string') throw new Error(`${file} ${reply}`);
  expect(reply.code).toBe(0);
  return reply.msg as Record<string, unknown>;
}

function target(url: string, timeoutMs = 2000): Target {
  const parsed = parseTargetUrl(url);
  return { url, scheme: parsed.scheme, host: parsed.hosts[0]!, port: parsed.port, labels: {}, intervalMs: 10_000, timeoutMs };
}

const IDENTITY = { id: 'asic/172.16.2.58', kind: 'asic' as const, target: 'whatsminer-v3://172.16.2.58:4433', labels: {}, address: '172.16.2.58' };

describe.skipIf(!present)('Whatsminer API v3 captures (asic-rs, M60S firmware 20251209.16.Rel2)', () => {
  const status = () => ({ ...capture('get_miner_status_summary.json'), ...capture('get_miner_status_pools.json'), ...capture('get_miner_status_edevs.json') });

  it('names the machine from get.device.info and reads summary, pools and edevs', () => {
    const s = enrichSnapshot(normalizeV3({ info: capture('get_device_info.json'), status: status() }, IDENTITY, new Date(1773869570_000)));
    expect(s).toMatchObject({
      up: true,
      dialect: 'whatsminer-v3',
      vendor: 'MicroBT',
      model: 'Whatsminer M60S',
      firmware: '20251209.16.Rel2',
      serial: 'BTM3CS40HD24083100000000000000000',
      mac: 'CE:02:01:00:8C:36',
      hashrate_hs: 171_259_000_000_000,
      nominal_hashrate_hs: 181_051_000_000_000,
      power_w: 3156,
      power_source: 'reported',
      power_limit_w: 3600,
      uptime_s: 50000,
      fans_rpm: [5400, 5280],
    });
    expect(s.temperatures_c).toMatchObject({ inlet: 28.5, chip_max: 82, chip_avg: 75.5, board0_chip: 80, board0_pcb: 41.1, board1_chip: 82, board2_pcb: 41.5 });
    expect(s.boards).toEqual([
      { index: 0, status: 'ok', hashrate_hs: 57_200_000_000_000, nominal_hashrate_hs: 60_350_000_000_000, chip_temperature_c: 80, board_temperature_c: 41.1, chips: 75 },
      { index: 1, status: 'ok', hashrate_hs: 57_000_000_000_000, nominal_hashrate_hs: 60_350_000_000_000, chip_temperature_c: 82, board_temperature_c: 40.1, chips: 75 },
      { index: 2, status: 'ok', hashrate_hs: 57_100_000_000_000, nominal_hashrate_hs: 60_350_000_000_000, chip_temperature_c: 81, board_temperature_c: 41.5, chips: 75 },
    ]);
    expect(s.pools).toEqual([
      { url: 'stratum+tcp://btc.example.pool:3333', user: 'asic-rs.test', status: 'alive', active: true },
      { url: 'stratum+tcp://btc2.example.pool:3333', user: 'asic-rs.test', status: 'alive', active: false },
      { url: 'stratum+tcp://btc3.example.pool:3333', user: 'asic-rs.test', status: 'alive', active: false },
    ]);
    // 3156 W / 171.259 TH/s
    expect(s.efficiency_j_per_th).toBe(18.43);
    expect(s.error).toBeUndefined();
  });

  it("lists the firmware's error codes from get.device.info as the device's error, still up", () => {
    const s = normalizeV3({ info: capture('get_device_info_with_errors.json'), status: status() }, IDENTITY, new Date());
    expect(s.up).toBe(true);
    expect(s.error).toBe('firmware error codes 264, 265, 266, 267, 270');
  });

  it('reads the summary alone: no boards, no pools, nothing invented', () => {
    const s = normalizeV3({ status: capture('get_miner_status_summary.json') }, IDENTITY, new Date());
    expect(s.boards).toBeUndefined();
    expect(s.pools).toBeUndefined();
    expect(s.model).toBeUndefined();
    expect(s.hashrate_hs).toBe(171_259_000_000_000);
  });
});

describe('Whatsminer API v3 envelope', () => {
  it("reads the plugin's error reply as code -1 with its sentence", () => {
    const reply = parseV3Reply(readFileSync(path.join(REPO_ROOT, 'collectors/whatsminer-v3/testdata/api-error.json'), 'utf8'));
    expect(reply).toEqual({ code: -1, when: 1773869570, msg: 'invalid command', desc: 'get.miner.stat' });
  });

  it('says what is wrong with a reply that is no envelope', () => {
    expect(parseV3Reply('{"code":0')).toBe('is not JSON');
    expect(parseV3Reply('[1]')).toBe('is not a JSON object');
    expect(parseV3Reply('{"msg":{}}')).toBe('has no numeric "code"');
  });

  it('keeps absurd values out: negative hashrate, -273 °C sensors and 0 W are absent', () => {
    const s = normalizeV3(
      { status: { summary: { 'hash-realtime': -5, 'chip-temp-max': -273, 'power-realtime': 0, 'environment-temperature': 9999, 'fan-speed-in': 'x' } } },
      IDENTITY,
      new Date(),
    );
    expect(s.hashrate_hs).toBeUndefined();
    expect(s.power_by_source_w).toBeUndefined();
    expect(s.temperatures_c).toEqual({});
    expect(s.fans_rpm).toEqual([]);
  });
});

describe('Whatsminer API v3 over TCP from the simulator', () => {
  let farm: Farm;
  const clock = () => 1_760_000_000_000;

  beforeAll(async () => {
    const block = await freeLoopbackBlock({ ports: [4433] });
    farm = await startFarm({ devices: 2, seed: 5, host: block.host(1), models: [{ model: 'Whatsminer M60S', protocol: 'whatsminer-v3' }], clock, failures: false });
  });
  afterAll(() => farm?.stop());

  it('polls the twin on 4433 and matches its reading', async () => {
    const miner = farm.miners[0]!;
    expect(miner.url).toBe(`whatsminer-v3://${miner.host}:4433`);
    const [s] = await createCollector(target(miner.url), { maxResponseBytes: 1 << 20 }).collect(new AbortController().signal);
    const truth = farm.readingOf(0);
    expect(s).toMatchObject({ up: true, id: `asic/${miner.host}`, vendor: 'MicroBT', model: 'Whatsminer M60S', firmware: '20251209.16.Rel2', dialect: 'whatsminer-v3' });
    expect(s!.hashrate_hs).toBe(Math.round(truth.ghs5s) * 1e9);
    expect(s!.power_by_source_w).toEqual({ reported: truth.powerW + 4 });
    expect(s!.boards).toHaveLength(3);
    expect(s!.pools?.[0]).toMatchObject({ active: true, url: 'stratum+tcp://btc.pool.example:3333' });
    expect(s!.serial).toMatch(/^BTM3CS40HD/);
  });

  it('rejects with a bounded reason: malformed, timeout, too large, refused', async () => {
    const url = farm.miners[1]!.url;
    const poll = (timeoutMs = 2000, max = 1 << 20) => createCollector(target(url, timeoutMs), { maxResponseBytes: max }).collect(new AbortController().signal);
    farm.setMalformed(1, true);
    await expect(poll()).rejects.toMatchObject({ reason: 'malformed' });
    farm.setMalformed(1, false);
    await expect(poll(2000, 100)).rejects.toMatchObject({ reason: 'too_large' });
    farm.hang(1);
    await expect(poll(300)).rejects.toMatchObject({ reason: 'timeout' });
    await farm.kill(1);
    await expect(poll()).rejects.toMatchObject({ reason: 'refused' });
    await farm.revive(1);
    await expect(poll()).resolves.toHaveLength(1);
  });

  it('answers an API error as api_error, quoting no more than a short piece of what the miner said', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => {
        const body = Buffer.from(JSON.stringify({ code: -2, when: 1, msg: 'x'.repeat(5000), desc: 'get.device.info' }));
        const header = Buffer.alloc(4);
        header.writeUInt32LE(body.length, 0);
        socket.end(Buffer.concat([header, body]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const error = await createCollector(target(`whatsminer-v3://127.0.0.1:${port}`), { maxResponseBytes: 1 << 20 })
        .collect(new AbortController().signal)
        .catch((e: unknown) => e as { reason: string; message: string });
      expect(error).toMatchObject({ reason: 'api_error' });
      expect((error as { message: string }).message.length).toBeLessThan(220);
    } finally {
      server.close();
    }
  });
});

describe('Whatsminer API v3 firmware that takes one status part per request', () => {
  it('falls back to summary, pools and edevs one by one, and stays with that', async () => {
    const asked: string[] = [];
    const server = net.createServer((socket) => {
      socket.once('data', (data: Buffer) => {
        const request = JSON.parse(data.subarray(4).toString('utf8')) as { cmd: string; param?: string };
        asked.push(request.param === undefined ? request.cmd : `${request.cmd} ${request.param}`);
        const single = request.param !== undefined && !request.param.includes('+');
        const reply =
          request.cmd === 'get.device.info'
            ? { code: 0, msg: { miner: { type: 'M60S_VK40' } } }
            : single
              ? { code: 0, msg: { [request.param!]: request.param === 'summary' ? { 'hash-realtime': 170 } : [] } }
              : { code: -1, msg: 'invalid param' };
        const body = Buffer.from(JSON.stringify(reply));
        const header = Buffer.alloc(4);
        header.writeUInt32LE(body.length, 0);
        socket.end(Buffer.concat([header, body]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const collector = createCollector(target(`whatsminer-v3://127.0.0.1:${port}`), { maxResponseBytes: 1 << 20 });
      const [first] = await collector.collect(new AbortController().signal);
      expect(first).toMatchObject({ model: 'Whatsminer M60S', hashrate_hs: 170e12 });
      await collector.collect(new AbortController().signal);
      expect(asked).toEqual([
        'get.device.info',
        'get.miner.status summary+pools+edevs',
        'get.miner.status summary',
        'get.miner.status pools',
        'get.miner.status edevs',
        'get.device.info',
        'get.miner.status summary',
        'get.miner.status pools',
        'get.miner.status edevs',
      ]);
    } finally {
      server.close();
    }
  });
});
