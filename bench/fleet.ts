/**
 * Many sites into one central store, as deploy/site and deploy/central ship them: S sites, each a
 * simulated farm of D miners (its own process), `potencia run` (its own process, the deployed Node
 * options) and a Prometheus in agent mode scraping it and remote-writing to one VictoriaMetrics. It
 * prints what the central store accepts (samples per second, series), what each agent costs (CPU, RSS)
 * and how long each site's economics round and plan take (the agents' own
 * potencia_economics_round_duration_seconds and potencia_economics_plan_duration_seconds), first for
 * one site alone (the baseline, same run, same D), then for all S at once.
 *
 *   BENCH_FLEET_SITES (5), BENCH_FLEET_DEVICES (10,000 per site), BENCH_FLEET_MEASURE_MS (60,000),
 *   BENCH_FLEET_SCRAPE_S (15, the shipped scrape interval). bench/README.md says what a machine holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { demoEconomics } from '../agent/economics/demo.js';
import { intToIpv4, ipv4ToInt } from '../collectors/target.js';
import { DEPLOYED_NODE_OPTIONS, FLEET_LOOPBACK_OCTETS, freePort, median, startFarmProcess, type FarmProcess } from './support.js';

const SITES = Number(process.env.BENCH_FLEET_SITES ?? 5);
const DEVICES = Number(process.env.BENCH_FLEET_DEVICES ?? 10_000);
const MEASURE_MS = Number(process.env.BENCH_FLEET_MEASURE_MS ?? 60_000);
const SCRAPE_S = Number(process.env.BENCH_FLEET_SCRAPE_S ?? 15);
const POLL_INTERVAL_S = 10;
/** Nameplate per simulated miner used to size the cap (the farm's models draw 1.3–3.5 kW); half of it binds. */
const NAMEPLATE_KW_PER_MINER = 3;
const READY_TIMEOUT_MS = 180_000;

/** dist/, where `npm run bench` runs the compiled agent from; the shipped deploy files are beside it in the source tree. */
const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const deploy = (path: string) => readFileSync(join(dist, '..', 'deploy', path), 'utf8');

function tool(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  throw new Error(`bench fleet needs ${name} on PATH (apt-get install prometheus victoria-metrics)`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fetchText(port: number, path: string): Promise<string> {
  return new Promise((done, fail) => {
    const req = get({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? done(Buffer.concat(chunks).toString('utf8')) : fail(new Error(`${path}: HTTP ${res.statusCode}`))));
      res.on('error', fail);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${path}: no answer in 30 s`)));
    req.on('error', fail);
  });
}

/** Sample values summed over label sets, for the names asked (a /metrics page is large: the rest is skipped). */
function totals(text: string, names: readonly string[], labelFilter?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const name = line.slice(0, line.search(/[{ ]/));
    if (!names.includes(name)) continue;
    if (labelFilter && !line.includes(labelFilter)) continue;
    out.set(name, (out.get(name) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

const AGENT_FIGURES = [
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_resident_memory_bytes',
  'potencia_devices',
  'potencia_economics_round_duration_seconds',
  'potencia_economics_plan_duration_seconds',
] as const;

interface Site {
  name: string;
  port: number;
  farm: FarmProcess;
  agent: ChildProcess;
  prometheus: ChildProcess;
}

interface FleetFigures {
  sites: number;
  samplesPerS: number;
  series: number;
  /** VictoriaMetrics' own share of one core and RSS over the window. */
  store: { cpuPct: number; rssMb: number };
  /** Per agent: share of one core, highest RSS, median round and plan times. */
  agents: { cpuPct: number; rssMb: number; roundMs: number; planMs: number }[];
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || exited(child)) return;
  const gone = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(killer);
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, children: ChildProcess[]): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const dead = children.find(exited);
    if (dead) throw new Error(`${what}: a process (${dead.spawnfile}) exited with ${dead.exitCode ?? dead.signalCode}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${READY_TIMEOUT_MS / 1000} s`);
    await sleep(1000);
  }
}

async function startSite(index: number, dir: string, victoriaPort: number): Promise<Site> {
  const name = `site-${index + 1}`;
  const first = `127.${FLEET_LOOPBACK_OCTETS[index]!}.0.1`;
  const farm = await startFarmProcess(DEVICES, first, 11 + index);
  const port = await freePort();
  const last = intToIpv4(ipv4ToInt(first)! + DEVICES - 1);
  const siteDir = join(dir, name);
  mkdirSync(siteDir, { recursive: true });
  const config = {
    agent: { listen: `127.0.0.1:${port}` },
    labels: { site: name },
    polling: { interval: `${POLL_INTERVAL_S}s`, timeout: '5s', concurrency: 256 },
    targets: [{ url: `cgminer://${first}-${last}` }],
    economics: demoEconomics(DEVICES * NAMEPLATE_KW_PER_MINER, 0.5),
  };
  // JSON is YAML: the agent reads it as its config file.
  writeFileSync(join(siteDir, 'potencia.yaml'), JSON.stringify(config));
  const bin = join(dist, 'agent', 'bin.js');
  const agent = spawn(process.execPath, [bin, 'run', '--config', join(siteDir, 'potencia.yaml')], {
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS.join(' ') },
  });

  const prom = parseYaml(deploy('site/prometheus-agent.yml'));
  prom.global.scrape_interval = `${SCRAPE_S}s`;
  prom.global.scrape_timeout = `${Math.min(SCRAPE_S, 10)}s`;
  prom.global.external_labels.site = name;
  prom.scrape_configs[0].scrape_timeout = `${Math.min(SCRAPE_S, 10)}s`;
  prom.scrape_configs[0].static_configs[0].targets = [`127.0.0.1:${port}`];
  prom.remote_write[0].url = `http://127.0.0.1:${victoriaPort}/api/v1/write`;
  writeFileSync(join(siteDir, 'prometheus-agent.yml'), stringifyYaml(prom));
  const prometheus = spawn(
    tool('prometheus'),
    [
      '--enable-feature=agent',
      `--config.file=${join(siteDir, 'prometheus-agent.yml')}`,
      `--storage.agent.path=${join(siteDir, 'wal')}`,
      `--web.listen-address=127.0.0.1:${await freePort()}`,
    ],
    { stdio: 'ignore' },
  );
  return { name, port, farm, agent, prometheus };
}

/** One fleet of `sites` sites from scratch (its own VictoriaMetrics), measured, then torn down. */
async function measureFleet(sites: number): Promise<FleetFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'potencia-bench-fleet-'));
  const victoriaPort = await freePort();
  const args = /^ARGS="(.*)"$/m.exec(deploy('central/victoria-metrics.default'))![1]!.split(' ');
  // Go's flags: the last one given wins, so these put the shipped store on this machine's port and folder.
  const victoria = spawn(tool('victoria-metrics'), [...args, `-storageDataPath=${join(dir, 'victoria')}`, `-httpListenAddr=127.0.0.1:${victoriaPort}`], { stdio: 'ignore' });
  const running: Site[] = [];
  try {
    for (let i = 0; i < sites; i++) running.push(await startSite(i, dir, victoriaPort));
    const children = [victoria, ...running.flatMap((s) => [s.agent, s.prometheus])];
    for (const site of running) {
      await waitFor(
        async () => {
          const t = totals(await fetchText(site.port, '/metrics'), AGENT_FIGURES);
          return (t.get('potencia_devices') ?? 0) >= DEVICES - site.farm.dead.length && t.has('potencia_economics_plan_duration_seconds') ? true : undefined;
        },
        `${site.name}: every miner polled and a plan made`,
        children,
      );
    }
    const inserted = async () => totals(await fetchText(victoriaPort, '/metrics'), ['vm_rows_inserted_total'], 'type="promremotewrite"').get('vm_rows_inserted_total') ?? 0;
    const storeFigures = async () => totals(await fetchText(victoriaPort, '/metrics'), ['process_cpu_seconds_total', 'process_resident_memory_bytes']);
    // Every site's Prometheus has pushed a whole page before the window opens.
    await waitFor(async () => ((await inserted()) > 0 ? true : undefined), 'the first samples in VictoriaMetrics', children);
    await sleep(2 * SCRAPE_S * 1000);

    const read = () => Promise.all(running.map(async (s) => totals(await fetchText(s.port, '/metrics'), AGENT_FIGURES)));
    const before = await read();
    const rowsBefore = await inserted();
    const storeBefore = await storeFigures();
    const t0 = Date.now();
    const samples: Map<string, number>[][] = [];
    while (Date.now() - t0 < MEASURE_MS) {
      await sleep(Math.min(5000, MEASURE_MS));
      samples.push(await read());
      const dead = children.find(exited);
      if (dead) throw new Error(`a process (${dead.spawnfile}) exited during the measurement`);
    }
    const elapsedS = (Date.now() - t0) / 1000;
    const rows = (await inserted()) - rowsBefore;
    const storeAfter = await storeFigures();
    const store = {
      cpuPct: (((storeAfter.get('process_cpu_seconds_total') ?? 0) - (storeBefore.get('process_cpu_seconds_total') ?? 0)) / elapsedS) * 100,
      rssMb: (storeAfter.get('process_resident_memory_bytes') ?? 0) / 2 ** 20,
    };
    const series = Number((JSON.parse(await fetchText(victoriaPort, '/api/v1/series/count')) as { data: number[] }).data[0] ?? 0);
    const after = samples.at(-1)!;
    const agents = running.map((_, i) => {
      const cpu = (t: Map<string, number>) => (t.get('process_cpu_user_seconds_total') ?? 0) + (t.get('process_cpu_system_seconds_total') ?? 0);
      const at = (name: string) => samples.map((s) => s[i]!.get(name)).filter((v): v is number => v !== undefined);
      return {
        cpuPct: ((cpu(after[i]!) - cpu(before[i]!)) / elapsedS) * 100,
        rssMb: Math.max(...at('process_resident_memory_bytes')) / 2 ** 20,
        roundMs: median(at('potencia_economics_round_duration_seconds')) * 1000,
        planMs: median(at('potencia_economics_plan_duration_seconds')) * 1000,
      };
    });
    return { sites, samplesPerS: rows / elapsedS, series, store, agents };
  } finally {
    for (const site of running) await Promise.all([stopChild(site.prometheus), stopChild(site.agent), site.farm.stop()]);
    await stopChild(victoria);
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(label: string, f: FleetFigures, baseline?: FleetFigures): void {
  const worst = (pick: (a: FleetFigures['agents'][number]) => number) => Math.max(...f.agents.map(pick));
  const mid = (pick: (a: FleetFigures['agents'][number]) => number) => median(f.agents.map(pick));
  const ratio = (now: number, then: number | undefined) => (then ? ` (${(now / then).toFixed(2)}× one site alone)` : '');
  const perSite = f.samplesPerS / f.sites;
  console.log(`  ${label}: ${f.sites} site(s) × ${DEVICES} miners`);
  console.log(
    `    VictoriaMetrics accepted ${f.samplesPerS.toFixed(0)} samples/s, ${perSite.toFixed(0)} per site${ratio(perSite, baseline?.samplesPerS)}; ${f.series} series; its CPU ${f.store.cpuPct.toFixed(0)}% of one core, RSS ${f.store.rssMb.toFixed(0)} MB`,
  );
  console.log(
    `    agents: CPU ${mid((a) => a.cpuPct).toFixed(0)}% of one core median, ${worst((a) => a.cpuPct).toFixed(0)}% highest${ratio(
      worst((a) => a.cpuPct),
      baseline?.agents[0]?.cpuPct,
    )}; RSS ${worst((a) => a.rssMb).toFixed(0)} MB highest`,
  );
  console.log(
    `    economics: round ${mid((a) => a.roundMs).toFixed(1)} ms median over sites, ${worst((a) => a.roundMs).toFixed(1)} ms slowest site${ratio(
      worst((a) => a.roundMs),
      baseline?.agents[0]?.roundMs,
    )}; plan ${mid((a) => a.planMs).toFixed(1)} ms median, ${worst((a) => a.planMs).toFixed(1)} ms slowest`,
  );
}

export async function benchFleet(): Promise<void> {
  if (!Number.isInteger(SITES) || SITES < 1 || SITES > FLEET_LOOPBACK_OCTETS.length) throw new Error(`BENCH_FLEET_SITES must be 1..${FLEET_LOOPBACK_OCTETS.length}`);
  console.log(
    `\nFleet: ${SITES} sites × ${DEVICES} simulated ASICs, each an agent (polling every ${POLL_INTERVAL_S} s, a cap that binds) and a Prometheus agent (scrape every ${SCRAPE_S} s) remote-writing to one VictoriaMetrics; ${MEASURE_MS / 1000} s windows`,
  );
  const alone = await measureFleet(1);
  report('baseline', alone);
  if (SITES > 1) report('fleet', await measureFleet(SITES), alone);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchFleet();
