import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createAgent } from '../agent/compose.js';
import { demoEconomics } from '../agent/economics/demo.js';
import type { Agent } from '../agent/daemon.js';
import { silentLogger } from '../agent/log.js';
import { configSchema } from '../config/schema.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { eventually, findTool, freeLoopbackBlock, freePort, REPO_ROOT, spawnProcess, tcpGate, type Spawned, type TcpGate } from './helpers.js';
import { Recorder } from './mqtt-support.js';
import { fleetQueries } from './grafana-support.js';

const prometheusBin = findTool('prometheus');
const mosquittoBin = findTool('mosquitto');
const victoriaBin = findTool('victoria-metrics');
const vmalertBin = findTool('vmalert');

const DEVICES = 6;
/** The first half of each site's miners carries central_detail: "true", so their boards and fans are pushed too. */
const DETAILED = 3;
const SCRAPE_S = 1;
const CUT_MS = 10_000;

const shipped = (path: string) => readFileSync(join(REPO_ROOT, 'deploy', path), 'utf8');

interface Site {
  name: string;
  farm: Farm;
  agent: Agent;
  broker: Spawned;
  prometheus: Spawned;
  /** The site's link to the central store and to the central broker. */
  storeLink: TcpGate;
  brokerLink: TcpGate;
}

interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

async function waitListening(port: number, process: Spawned, what: string): Promise<void> {
  await eventually(
    () =>
      new Promise<boolean | undefined>((resolve) => {
        if (process.child.exitCode !== null) throw new Error(`${what} exited: ${process.output().slice(-1000)}`);
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(undefined));
      }),
    `${what} listening on ${port}`,
  );
}

async function stop(p: Spawned | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const killer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(killer);
}

/**
 * Two simulated sites, each an agent with its own Prometheus in agent mode and its own mosquitto
 * bridged to a central mosquitto, pushing into one central VictoriaMetrics, all from the configs
 * shipped in deploy/site and deploy/central (with this machine's ports and folders put in). One site's
 * links go through gates the test cuts for a while.
 */
describe.skipIf(!prometheusBin || !mosquittoBin || !victoriaBin || !vmalertBin)('two sites pushing to a central store and broker', () => {
  let dir: string;
  let victoria: Spawned;
  let vmalert: Spawned;
  let victoriaUrl: string;
  let central: Spawned;
  let centralPort: number;
  const sites: Site[] = [];

  async function startMosquitto(name: string, conf: string, port: number): Promise<Spawned> {
    const file = join(dir, `${name}.conf`);
    // The test's own settings first: the bridge's settings follow its `connection` line.
    writeFileSync(file, [`user ${userInfo().username}`, 'log_dest stderr', 'log_type error', 'log_type warning', conf].join('\n'));
    const broker = spawnProcess(mosquittoBin!, ['-c', file]);
    await waitListening(port, broker, `mosquitto ${name}`);
    return broker;
  }

  async function startSite(name: string, seed: number): Promise<Site> {
    const block = await freeLoopbackBlock();
    // Mostly firmware that reports its watts: the value of one more MW is built from measured miners only.
    const models = [
      'Whatsminer M50S',
      { model: 'Antminer S19 Pro', firmware: 'braiins' as const },
      'Antminer S19 Pro',
      'Whatsminer M50S',
      { model: 'Antminer S19 Pro', firmware: 'braiins' as const },
      'Whatsminer M50S',
    ];
    const farm = await startFarm({ devices: DEVICES, seed, mode: 'address', host: block.host(1), failures: false, models });
    const brokerPort = await freePort();
    const brokerLink = await tcpGate(centralPort);
    const storeLink = await tcpGate(Number(new URL(victoriaUrl).port));
    const persistence = join(dir, name, 'mosquitto');
    mkdirSync(persistence, { recursive: true });
    const bridge = shipped('site/mosquitto-bridge.conf')
      .replaceAll('farm-1', name)
      .replace(/^listener 1883 127\.0\.0\.1$/m, `listener ${brokerPort} 127.0.0.1`)
      .replace(/^address .*$/m, `address 127.0.0.1:${brokerLink.port}`)
      .replace(/^persistence_location .*$/m, `persistence_location ${persistence}/`)
      // The shipped bridge speaks TLS to the central broker; the test's central broker listens in plain text.
      .replace(/^bridge_cafile .*$/m, '')
      // Reconnect within a second of the link coming back, so the test need not wait out a real backoff.
      .replace(/^restart_timeout .*$/m, 'restart_timeout 1 1');
    const broker = await startMosquitto(name, bridge, brokerPort);

    const config = configSchema.parse({
      agent: { listen: '127.0.0.1:0' },
      labels: { site: name },
      polling: { interval: `${SCRAPE_S}s`, timeout: '800ms' },
      targets: [
        { url: `cgminer://${block.host(1)}-${block.host(DETAILED)}`, labels: { central_detail: 'true' } },
        { url: `cgminer://${block.host(DETAILED + 1)}-${block.host(DEVICES)}` },
      ],
      mqtt: { url: `mqtt://127.0.0.1:${brokerPort}`, client_id: `potencia-${name}`, reconnect: { initial: '100ms', max: '1s' } },
      // Static figures and a cap: each site has a plan, margins and a cap for the fleet view.
      economics: demoEconomics(
        farm.miners.reduce((kw, m) => kw + m.model.nominal_power_w / 1000, 0),
        0.6,
      ),
    });
    const agent = createAgent({ config, logger: silentLogger });
    await agent.start();

    const promConfig = parseYaml(shipped('site/prometheus-agent.yml'));
    promConfig.global.scrape_interval = `${SCRAPE_S}s`;
    promConfig.global.scrape_timeout = `${SCRAPE_S}s`;
    promConfig.global.external_labels.site = name;
    promConfig.scrape_configs[0].scrape_timeout = `${SCRAPE_S}s`;
    promConfig.scrape_configs[0].static_configs[0].targets = [`127.0.0.1:${agent.port}`];
    const remote = promConfig.remote_write[0];
    remote.url = `http://127.0.0.1:${storeLink.port}/api/v1/write`;
    // Send within a second and retry every two once the link is back, so the catch-up fits the test.
    remote.queue_config.batch_send_deadline = '1s';
    remote.queue_config.max_backoff = '2s';
    const promFile = join(dir, name, 'prometheus-agent.yml');
    writeFileSync(promFile, stringifyYaml(promConfig));
    const promPort = await freePort();
    const prometheus = spawnProcess(prometheusBin!, [
      '--enable-feature=agent',
      `--config.file=${promFile}`,
      `--storage.agent.path=${join(dir, name, 'wal')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    await waitListening(promPort, prometheus, `prometheus agent ${name}`);
    return { name, farm, agent, broker, prometheus, storeLink, brokerLink };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'potencia-fleet-'));
    const victoriaPort = await freePort();
    victoriaUrl = `http://127.0.0.1:${victoriaPort}`;
    const args = /^ARGS="(.*)"$/m.exec(shipped('central/victoria-metrics.default'))![1]!.split(' ');
    victoria = spawnProcess(victoriaBin!, [
      ...args,
      // Go's flags: the last one given wins, so these put the shipped store on this machine's port and folder.
      `-storageDataPath=${join(dir, 'victoria')}`,
      `-httpListenAddr=127.0.0.1:${victoriaPort}`,
      '-search.latencyOffset=1s',
    ]);
    await waitListening(victoriaPort, victoria, 'victoria-metrics');
    // The fleet view's recording rules, evaluated every second into the same store.
    const vmalertPort = await freePort();
    vmalert = spawnProcess(vmalertBin!, [
      `-rule=${join(REPO_ROOT, 'deploy', 'central', 'recording-rules.yml')}`,
      `-datasource.url=${victoriaUrl}`,
      `-remoteWrite.url=${victoriaUrl}`,
      '-remoteWrite.flushInterval=1s',
      '-evaluationInterval=1s',
      `-httpListenAddr=127.0.0.1:${vmalertPort}`,
    ]);
    await waitListening(vmalertPort, vmalert, 'vmalert');
    centralPort = await freePort();
    central = await startMosquitto('central', `listener ${centralPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`, centralPort);
    sites.push(await startSite('north', 3), await startSite('south', 5));
  }, 90_000);

  afterAll(async () => {
    for (const site of sites) {
      await site.agent.stop();
      await Promise.all([stop(site.prometheus), stop(site.broker), site.farm.stop(), site.storeLink.close(), site.brokerLink.close()]);
    }
    await Promise.all([stop(central), stop(vmalert), stop(victoria)]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const res = await fetch(`${victoriaUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    return body.data.result;
  }

  /** The raw samples VictoriaMetrics holds for a selector between two times (ms), one entry per series. */
  async function raw(selector: string, fromMs: number, toMs: number): Promise<ExportedSeries[]> {
    const url = `${victoriaUrl}/api/v1/export?match[]=${encodeURIComponent(selector)}&start=${Math.floor(fromMs / 1000)}&end=${Math.ceil(toMs / 1000)}`;
    const text = await (await fetch(url)).text();
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ExportedSeries);
  }

  const byName = (name: string) => sites.find((s) => s.name === name)!;
  const diagnostics = () => sites.map((s) => `${s.name}: prometheus ${s.prometheus.output().slice(-600)} mosquitto ${s.broker.output().slice(-300)}`).join('\n');

  it("holds both sites' series under their site label, the boards and fans only of the devices that ask", async () => {
    const counts = await eventually(
      async () => {
        const r = await query('count by (site) (potencia_device_up)');
        const bySite = Object.fromEntries(r.map((s) => [s.metric.site, Number(s.value[1])]));
        return bySite.north === DEVICES && bySite.south === DEVICES ? bySite : undefined;
      },
      `both sites' devices in the central store (${diagnostics()})`,
      40_000,
    );
    expect(counts).toEqual({ north: DEVICES, south: DEVICES });
    // The agent's own series carry no site label of their own: the Prometheus agent's external label gives it.
    const agentSeries = await eventually(async () => {
      const r = await query('potencia_scheduler_targets');
      return r.length === 2 ? r : undefined;
    }, 'the agents’ own series');
    expect(agentSeries.map((s) => s.metric.site).sort()).toEqual(['north', 'south']);
    // Boards and fans of the devices labelled central_detail: "true" are pushed, the others stay at the site.
    for (const family of ['potencia_miner_board_hashrate_hashes_per_second', 'potencia_device_fan_speed_rpm']) {
      const detail = await query(`count by (site, central_detail) (group by (site, central_detail, device) (${family}))`);
      expect(detail.map((s) => [s.metric.site, s.metric.central_detail, Number(s.value[1])]).sort(), family).toEqual([
        ['north', 'true', DETAILED],
        ['south', 'true', DETAILED],
      ]);
    }
    // The agents themselves see every board: the central store lacks them by the relabelling alone.
    const north = await (await fetch(`http://127.0.0.1:${byName('north').agent.port}/metrics`)).text();
    const boardDevices = new Set([...north.matchAll(/^potencia_miner_board_hashrate_hashes_per_second\{[^}]*device="([^"]+)"/gm)].map((m) => m[1]));
    expect(boardDevices.size).toBe(DEVICES);
  }, 60_000);

  it('answers every panel of the fleet dashboard for both sites, from the recording rules', async () => {
    const missing: string[] = [];
    for (const q of fleetQueries) {
      const expr = q.expr.replace(/\$\{?site\}?/g, '.*');
      const problem = await eventually(
        async () => {
          const sites = (await query(expr)).map((r) => r.metric.site);
          return sites.includes('north') && sites.includes('south') ? true : undefined;
        },
        `${q.panel} ${q.refId}: ${expr}`,
        20_000,
      ).then(
        () => undefined,
        (err: Error) => err.message,
      );
      if (problem) missing.push(problem);
    }
    expect(missing).toEqual([]);
    // The figures follow from the agents': the recorded draw is the sum of the site's devices.
    const [north] = await query('site:potencia_device_power_watts:sum{site="north"}');
    const [direct] = await query('sum(potencia_device_power_watts{site="north"})');
    expect(Number(north!.value[1])).toBeCloseTo(Number(direct!.value[1]), -2);
    const agents = await query('site:potencia_agents_up:sum');
    expect(agents.map((a) => [a.metric.site, a.value[1]]).sort()).toEqual([
      ['north', '1'],
      ['south', '1'],
    ]);
  }, 90_000);

  it('fills the cut site’s outage once its link is back, with no gap, and relays its MQTT state and last will', async () => {
    const north = byName('north');
    const watcher = await Recorder.connect(`mqtt://127.0.0.1:${centralPort}`, 'potencia/#');
    try {
      // Both sites' retained state reached the central broker through their bridges.
      for (const site of ['north', 'south']) {
        await watcher.waitFor((m) => m.topic === `potencia/${site}/status` && m.payload === 'online', `${site} status online`, 0, 20_000);
        await watcher.waitFor((m) => m.topic === `potencia/${site}/bridge` && m.payload === '1', `${site} bridge up`, 0, 20_000);
        await watcher.waitFor((m) => m.topic.startsWith(`potencia/${site}/devices/`), `${site} device state`, 0, 20_000);
      }
      // Both sites have been pushing for a while before the cut.
      await eventually(
        async () => ((await raw('potencia_scheduler_targets{site="north"}', Date.now() - 60_000, Date.now()))[0]?.timestamps.length ?? 0) >= 5 || undefined,
        'north samples before the cut',
      );

      const seenBeforeCut = watcher.messages.length;
      const cutAt = Date.now();
      north.storeLink.cut();
      north.brokerLink.cut();
      // The central broker publishes the bridge's last will as soon as the link drops.
      await watcher.waitFor((m) => m.topic === 'potencia/north/bridge' && m.payload === '0', 'north bridge last will', seenBeforeCut, 10_000);
      // During the outage a miner at the north site stops answering; the agent publishes that locally.
      const downMiner = north.farm.miners[0]!;
      await north.farm.kill(0);
      const downTopic = `potencia/north/devices/${encodeURIComponent(`asic/${downMiner.host}`)}/state`;
      await new Promise((r) => setTimeout(r, CUT_MS - (Date.now() - cutAt)));
      // The cut was real: nothing from north reached the central store or broker meanwhile, while south kept pushing.
      const during = await raw('potencia_scheduler_targets', cutAt + 3000, Date.now());
      const lastNorth = Math.max(0, ...(during.find((s) => s.metric.site === 'north')?.timestamps ?? []));
      expect(lastNorth, 'a north sample arrived during the cut').toBeLessThan(cutAt + 3000);
      expect(during.find((s) => s.metric.site === 'south')?.timestamps.length ?? 0).toBeGreaterThan(3);
      expect(watcher.messages.slice(seenBeforeCut).filter((m) => m.topic.startsWith('potencia/north/') && m.topic !== 'potencia/north/bridge')).toEqual([]);

      const restoredAt = Date.now();
      north.storeLink.restore();
      north.brokerLink.restore();

      // The bridge reconnects and delivers what the site published during the outage.
      await watcher.waitFor((m) => m.topic === 'potencia/north/bridge' && m.payload === '1', 'north bridge back', seenBeforeCut, 20_000);
      const down = await watcher.waitFor((m) => m.topic === downTopic && JSON.parse(m.payload).up === false, 'the outage’s down miner', seenBeforeCut, 20_000);
      expect(JSON.parse(down.payload)).toMatchObject({ up: false, labels: { site: 'north' } });
      // A subscriber arriving now finds the site's retained state on the central broker.
      const late = await Recorder.connect(`mqtt://127.0.0.1:${centralPort}`, 'potencia/north/#');
      try {
        const retained = await late.waitFor((m) => m.topic === downTopic, 'retained down miner');
        expect(retained.retain).toBe(true);
        expect(JSON.parse(retained.payload).up).toBe(false);
        const status = await late.waitFor((m) => m.topic === 'potencia/north/status', 'retained status');
        expect(status.payload).toBe('online');
      } finally {
        await late.close();
      }

      // The Prometheus agent sends the backlog from its WAL: samples all through the outage, none missing.
      const window = { from: cutAt - 3000, to: restoredAt + 3000 };
      const series = await eventually(
        async () => {
          const [s] = await raw('potencia_scheduler_targets{site="north"}', window.from, window.to + 5000);
          return s && Math.max(...s.timestamps) >= window.to ? s : undefined;
        },
        `north's backlog in the central store (${diagnostics()})`,
        30_000,
      );
      const inWindow = series.timestamps.filter((t) => t >= window.from && t <= window.to).sort((a, b) => a - b);
      const gaps = inWindow.slice(1).map((t, i) => t - inWindow[i]!);
      expect(inWindow[0]! - window.from).toBeLessThan(2.5 * SCRAPE_S * 1000);
      expect(window.to - inWindow.at(-1)!).toBeLessThan(2.5 * SCRAPE_S * 1000);
      expect(Math.max(...gaps), `gaps between samples: ${gaps.join(' ')}`).toBeLessThan(2.5 * SCRAPE_S * 1000);
      expect(inWindow.length).toBeGreaterThanOrEqual((window.to - window.from) / (SCRAPE_S * 1000) - 3);
      // The miner that went down during the outage is in the backlog too.
      const [downUp] = await raw(`potencia_device_up{site="north",device="asic/${downMiner.host}"}`, cutAt, restoredAt);
      expect(downUp?.values).toContain(0);
    } finally {
      await watcher.close();
    }
  }, 90_000);
});
