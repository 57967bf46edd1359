/**
 * The daemon as an operator runs it: `potencia run` in its own process, with the Node options the
 * Docker image and the systemd unit use, polling 10,000 simulated ASICs every 10 s while a scraper
 * fetches /metrics (gzip) every 5 s. Unlike the poll sweep, polls are spread over the interval by
 * their phases, and each reading is rendered for /metrics as it is stored. Figures come from the agent's
 * own process metrics, so its CPU per poll includes rendering and the scrapes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { intToIpv4, ipv4ToInt } from '../collectors/target.js';
import { DEPLOYED_NODE_OPTIONS, freePort, median, startFarmProcess } from './support.js';

const FIRST_HOST = '127.21.0.1';
const SCRAPE_EVERY_MS = 5000;
const WARM_UP_MS = 25_000;

export interface DaemonRun {
  devices: number;
  intervalS: number;
  measureMs: number;
  /** The agent's `metrics:` section, YAML flow style; all series when absent. */
  metrics?: string;
  /** `polling.jitter_ratio`; the agent's default when absent. */
  jitterRatio?: number;
}

export interface DaemonFigures {
  polls: number;
  scrapes: number;
  cpuUsPerPoll: number;
  cpuPercent: number;
  scrapeMedianMs: number;
  peakRssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  /** The last page, decoded. */
  page: Buffer;
  /** Series on the page that carry a device label, per device. */
  seriesPerDevice: number;
}

/** The sample values of the agent's own metrics, summed over label sets. */
function totals(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const name = line.slice(0, line.search(/[{ ]/));
    out.set(name, (out.get(name) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** The process's resident set now, from /proc (Linux). */
function residentBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** Sample lines that carry a device label: the page's per-device cardinality, the agent's own series aside. */
function deviceSeries(text: string): number {
  let series = 0;
  for (let at = text.indexOf('{device="'); at >= 0; at = text.indexOf('{device="', at + 9)) series++;
  return series;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDaemon(run: DaemonRun): Promise<DaemonFigures> {
  const { devices: DEVICES, intervalS: INTERVAL_S, measureMs: MEASURE_MS } = run;
  const farm = await startFarmProcess(DEVICES, FIRST_HOST, 5);
  const dir = mkdtempSync(join(tmpdir(), 'potencia-bench-'));
  const port = await freePort();
  const last = intToIpv4(ipv4ToInt(FIRST_HOST)! + DEVICES - 1);
  const config = join(dir, 'potencia.yaml');
  writeFileSync(
    config,
    `agent: { listen: "127.0.0.1:${port}" }\npolling: { interval: ${INTERVAL_S}s, timeout: 5s, concurrency: 256${run.jitterRatio === undefined ? '' : `, jitter_ratio: ${run.jitterRatio}`} }\ntargets:\n  - url: cgminer://${FIRST_HOST}-${last}\n${run.metrics ? `metrics: ${run.metrics}\n` : ''}`,
  );
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'agent', 'bin.js');
  const agent = spawn(process.execPath, [bin, 'run', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS.join(' ') },
  });
  // As Prometheus asks: gzip. The time is until the last compressed byte arrives; nothing is decoded.
  const scrapeRaw = (): Promise<{ received: Buffer; ms: number }> =>
    new Promise((done, fail) => {
      const t0 = performance.now();
      const req = get({ host: '127.0.0.1', port, path: '/metrics', headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ received: Buffer.concat(chunks), ms: performance.now() - t0 }));
        res.on('error', fail);
      });
      req.on('error', fail);
    });
  const scrapeText = async (): Promise<string> => gunzipSync((await scrapeRaw()).received).toString('utf8');
  try {
    // A first sweep takes about a millisecond of CPU per miner on a small machine: give it twice that.
    const patienceMs = Math.max(120_000, DEVICES * 2 * 1.2);
    const deadline = Date.now() + patienceMs;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`the agent did not poll every miner within ${(patienceMs / 1000).toFixed(0)} s`);
      await sleep(1000);
      const text = await scrapeText().catch(() => '');
      if ((totals(text).get('potencia_devices') ?? 0) >= DEVICES) break;
    }
    await sleep(WARM_UP_MS);
    const before = totals(await scrapeText());
    const scrapeMs: number[] = [];
    // Sampled from /proc rather than decoded from each page: decoding a 200 MB page here would take
    // this machine's second core from the agent while it compresses the next one.
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, residentBytes(agent.pid!));
    }, 100);
    const t0 = Date.now();
    let last: Buffer = Buffer.alloc(0);
    while (Date.now() - t0 < MEASURE_MS) {
      await sleep(SCRAPE_EVERY_MS);
      const { received, ms } = await scrapeRaw();
      scrapeMs.push(ms);
      last = received;
    }
    clearInterval(sampler);
    const page = gunzipSync(last);
    const text = page.toString('utf8');
    const after = totals(text);
    const heapUsed = after.get('nodejs_heap_size_used_bytes') ?? 0;
    const external = after.get('nodejs_external_memory_bytes') ?? 0;
    const cpuS = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const polls = cpuS('potencia_collector_polls_total');
    const cpuUs = (cpuS('process_cpu_user_seconds_total') + cpuS('process_cpu_system_seconds_total')) * 1e6;
    return {
      polls,
      scrapes: scrapeMs.length,
      cpuUsPerPoll: cpuUs / polls,
      cpuPercent: (cpuUs / 1e6 / ((Date.now() - t0) / 1000)) * 100,
      scrapeMedianMs: median(scrapeMs),
      peakRssBytes: peakRss,
      heapUsedBytes: heapUsed,
      externalBytes: external,
      page,
      seriesPerDevice: deviceSeries(text) / DEVICES,
    };
  } finally {
    agent.kill('SIGTERM');
    await new Promise((done) => agent.once('exit', done));
    await farm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

export async function benchDaemon(): Promise<void> {
  const run: DaemonRun = {
    devices: Number(process.env.BENCH_DAEMON_DEVICES ?? 10_000),
    intervalS: Number(process.env.BENCH_DAEMON_INTERVAL_S ?? 10),
    measureMs: Number(process.env.BENCH_DAEMON_MEASURE_MS ?? 40_000),
  };
  const f = await runDaemon(run);
  console.log(
    `\nDaemon: ${run.devices} simulated ASICs every ${run.intervalS} s, /metrics scraped (gzip) every ${SCRAPE_EVERY_MS / 1000} s, node ${DEPLOYED_NODE_OPTIONS.join(' ')}`,
  );
  console.log(`  over ${(run.measureMs / 1000).toFixed(0)} s after a ${WARM_UP_MS / 1000} s warm-up: ${f.polls} polls, ${f.scrapes} scrapes`);
  console.log(`  CPU ${f.cpuUsPerPoll.toFixed(0)} µs per poll, rendering and scrapes included (${f.cpuPercent.toFixed(0)}% of one core)`);
  console.log(`  scrape ${f.scrapeMedianMs.toFixed(0)} ms median, request to last gzip byte`);
  console.log(
    `  RSS ${mb(f.peakRssBytes)} MB at most (sampled every 100 ms, scrapes included); at the last scrape V8 heap used ${mb(f.heapUsedBytes)} MB, off-heap buffers ${mb(f.externalBytes)} MB`,
  );
  console.log(`  the page: ${mb(f.page.length)} MB, ${f.seriesPerDevice.toFixed(1)} series per device`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchDaemon();
