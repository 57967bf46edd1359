import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { createAgent } from '../agent/compose.js';
import type { Agent } from '../agent/daemon.js';
import { silentLogger } from '../agent/log.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { configSchema } from '../config/schema.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { eventually, findTool, freeLoopbackBlock, type LoopbackBlock } from './helpers.js';

/** The agent against the simulated farm over real loopback TCP, served over real HTTP. */
describe('agent polling a simulated farm', () => {
  let farm: Farm;
  let agent: Agent;
  let base: string;
  let block: LoopbackBlock;
  const DEAD = 3;
  const HUNG = 4;
  const MALFORMED = 5;
  const BROKEN_BOARD = 6;

  beforeAll(async () => {
    block = await freeLoopbackBlock();
    farm = await startFarm({ devices: 24, seed: 7, mode: 'address', host: block.host(1), failures: false });
    await farm.kill(DEAD);
    farm.hang(HUNG);
    farm.setMalformed(MALFORMED, true);
    farm.breakBoard(BROKEN_BOARD, 1);
    const config = configSchema.parse({
      agent: { listen: '127.0.0.1:0' },
      labels: { site: 'test-farm' },
      polling: { interval: '2s', timeout: '1500ms', concurrency: 8 },
      targets: [
        { url: `cgminer://${block.host(1)}-${block.host(12)}`, labels: { rack: 'r1' } },
        { url: `cgminer://${block.host(13)}-24`, labels: { rack: 'r2' } },
      ],
    });
    agent = createAgent({ config, logger: silentLogger });
    await agent.start();
    base = `http://127.0.0.1:${agent.port}`;
    await eventually(() => agent.store.size === 24 || undefined, 'every miner polled once');
  });

  afterAll(async () => {
    await agent?.stop();
    await farm?.stop();
  });

  async function devices(query = ''): Promise<DeviceSnapshot[]> {
    const res = await fetch(`${base}/api/devices${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as DeviceSnapshot[];
  }

  it('reports healthy miners with normalized readings and the snapshot contract keys', async () => {
    const all = await devices();
    expect(all).toHaveLength(24);
    // The first miner on stock Antminer firmware (the default mix also holds Whatsminer, Avalon, BOS, LuxOS, VNish).
    const stock = farm.miners.find((m) => m.dialect === 'antminer')!;
    const healthy = all.find((d) => d.address === stock.host)!;
    expect(healthy).toMatchObject({ id: `asic/${stock.host}`, kind: 'asic', vendor: 'Bitmain', up: true, labels: { site: 'test-farm', rack: stock.index < 12 ? 'r1' : 'r2' } });
    for (const key of [
      'id',
      'kind',
      'vendor',
      'model',
      'firmware',
      'up',
      'hashrate_hs',
      'nominal_hashrate_hs',
      'power_w',
      'power_source',
      'temperatures_c',
      'fans_rpm',
      'boards',
      'observed_at',
    ]) {
      expect(healthy, key).toHaveProperty(key);
    }
    const truth = farm.readingOf(stock.index);
    expect(healthy.model).toBe(stock.model.model);
    // Hashrate in H/s within the simulator's 5 s noise of the ground truth (a miner that rebooted lately is still warming up).
    expect(healthy.hashrate_hs! / (truth.ghs5s * 1e9)).toBeGreaterThan(0.8);
    expect(healthy.hashrate_hs! / (truth.ghs5s * 1e9)).toBeLessThan(1.25);
    // Stock Antminer firmware reports no watts: the power is an estimate and says so, and no efficiency is invented from it.
    expect(healthy.power_source).toBe('estimated');
    expect(healthy.efficiency_j_per_th).toBeUndefined();
    expect(healthy.boards!.every((b) => b.status === 'ok')).toBe(true);
  });

  it('marks a dead, a hung and a malformed miner down with their reasons and keeps serving the rest', async () => {
    const all = await devices();
    const byHost = new Map(all.map((d) => [d.address, d]));
    expect(byHost.get(farm.miners[DEAD]!.host)).toMatchObject({ up: false, error_reason: 'refused' });
    expect(byHost.get(farm.miners[HUNG]!.host)).toMatchObject({ up: false, error_reason: 'timeout' });
    expect(byHost.get(farm.miners[MALFORMED]!.host)).toMatchObject({ up: false, error_reason: 'malformed' });
    expect(byHost.get(farm.miners[MALFORMED]!.host)!.error).toMatch(/json|parse|unexpected/i);
    expect(all.filter((d) => d.up)).toHaveLength(21);
    expect((await devices('?up=false')).map((d) => d.address).sort()).toEqual([DEAD, HUNG, MALFORMED].map((i) => farm.miners[i]!.host).sort());
  });

  it('flags a failed hashboard and reports it as the miner error while it keeps hashing', async () => {
    const miner = (await devices()).find((d) => d.address === farm.miners[BROKEN_BOARD]!.host)!;
    expect(miner.up).toBe(true);
    expect(miner.boards!.filter((b) => b.status === 'dead').map((b) => b.index)).toHaveLength(1);
    expect(miner.error).toMatch(/board/);
  });

  it('serves /metrics (gzip when asked) that promtool accepts, with the failures as series', async () => {
    const gzipped = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      get(`${base}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    expect(gzipped.encoding).toBe('gzip');
    const plain = gunzipSync(gzipped.body).toString('utf8');
    expect(plain).toMatch(new RegExp(`potencia_device_up\\{device="asic/${farm.miners[DEAD]!.host}"[^}]*\\} 0`));
    expect(plain).toMatch(new RegExp(`potencia_miner_hashrate_hashes_per_second\\{device="asic/${farm.miners[0]!.host}",[^}]*\\} \\d`));
    expect(plain).toMatch(/potencia_collector_errors_total\{[^}]*reason="refused"[^}]*\} [1-9]/);
    expect(plain).toMatch(/potencia_collector_duration_seconds_bucket/);
    // The site's own series carry the site, so one Prometheus can hold several sites.
    expect(plain).toMatch(/^potencia_scheduler_targets\{site="test-farm"\} \d/m);
    expect(plain).toMatch(/^potencia_build_info\{version="[^"]+",site="test-farm"\} 1/m);
    const promtool = findTool('promtool');
    if (!promtool) return;
    const lint = spawnSync(promtool, ['check', 'metrics'], { input: plain, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it('leaves per-board and per-fan series out when `metrics:` says so, on reload, and brings them back', async () => {
    const config = (metrics: { per_board: boolean; per_fan: boolean }) =>
      configSchema.parse({
        agent: { listen: `127.0.0.1:${agent.port}` },
        labels: { site: 'test-farm' },
        polling: { interval: '2s', timeout: '1500ms', concurrency: 8 },
        targets: [
          { url: `cgminer://${block.host(1)}-${block.host(12)}`, labels: { rack: 'r1' } },
          { url: `cgminer://${block.host(13)}-24`, labels: { rack: 'r2' } },
        ],
        metrics,
      });
    const page = async () => (await fetch(`${base}/metrics`)).text();
    const device = `device="asic/${farm.miners[0]!.host}"`;
    const full = await page();
    expect(full).toMatch(new RegExp(`^potencia_miner_board_status\\{${device},`, 'm'));
    expect(full).toMatch(new RegExp(`^potencia_device_fan_speed_rpm\\{${device},`, 'm'));
    expect(full).toMatch(new RegExp(`^potencia_device_temperature_celsius\\{${device},[^}]*sensor="board0_chip"`, 'm'));

    await agent.applyConfig(config({ per_board: false, per_fan: false }));
    const lean = await page();
    expect(lean).not.toMatch(/^potencia_miner_board_/m);
    expect(lean).not.toMatch(/^potencia_device_fan_speed_rpm\{/m);
    expect(lean).not.toMatch(/sensor="board\d+_(chip|pcb)"/);
    expect(lean).toMatch(new RegExp(`^potencia_device_temperature_celsius\\{${device},[^}]*sensor="chip_max"\\} \\d`, 'm'));
    expect(lean).toMatch(new RegExp(`^potencia_miner_hashrate_hashes_per_second\\{${device},[^}]*\\} \\d`, 'm'));
    const seriesOf = (text: string) => text.split('\n').filter((line) => line.startsWith(`potencia_`) && line.includes(device)).length;
    // README "Series per device": the farm's first miner, a Whatsminer M30S++ with three hashboards and two fans.
    expect(full).toContain(`potencia_device_info{${device},rack="r1",site="test-farm",kind="asic",vendor="MicroBT",model="Whatsminer M30S++"`);
    expect([seriesOf(full), seriesOf(lean)]).toEqual([46, 17]);
    expect(seriesOf(lean)).toBeLessThan(seriesOf(full) / 2);

    await agent.applyConfig(config({ per_board: true, per_fan: true }));
    expect(seriesOf(await page())).toBe(seriesOf(full));
  });

  it('reloads targets in place: removed miners vanish, added ones appear, the server stays up', async () => {
    const next = configSchema.parse({
      agent: { listen: `127.0.0.1:${agent.port}` },
      labels: { site: 'test-farm' },
      polling: { interval: '2s', timeout: '1500ms', concurrency: 8 },
      targets: [{ url: `cgminer://${block.host(1)}-${block.host(12)}`, labels: { rack: 'r1' } }],
    });
    await agent.applyConfig(next);
    const all = await devices();
    expect(all).toHaveLength(12);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('drops the targets a reload removes even when it also changes polling (the scheduler is rebuilt)', async () => {
    const next = configSchema.parse({
      agent: { listen: `127.0.0.1:${agent.port}` },
      labels: { site: 'test-farm' },
      polling: { interval: '2s', timeout: '1500ms', concurrency: 4 },
      targets: [{ url: `cgminer://${block.host(1)}-${block.host(3)}`, labels: { rack: 'r1' } }],
    });
    await agent.applyConfig(next);
    expect(await devices()).toHaveLength(3);
    const body = await (await fetch(`${base}/metrics`)).text();
    expect(body.match(/^potencia_target_poll_success\{/gm)).toHaveLength(3);
    expect(body).not.toContain(`target="cgminer://${block.host(4)}:4028"`);
  });
});
