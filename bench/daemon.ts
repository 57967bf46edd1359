/**
 * The daemon as an operator runs it: `potencia run` in its own process, with the Node options the
 * Docker image and the systemd unit use, polling 10,000 simulated ASICs every 10 s while a scraper
 * fetches /metrics (gzip) every 5 s. Unlike the poll sweep, polls are spread over the interval by
 * jitter, and each reading is rendered for /metrics as it is stored. Figures come from the agent's
 * own process metrics, so its CPU per poll includes rendering and the scrapes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { intToIpv4, ipv4ToInt } from '../collectors/target.js';
import { DEPLOYED_NODE_OPTIONS, freePort, median, startFarmProcess } from './support.js';

const DEVICES = Number(process.env.BENCH_DAEMON_DEVICES ?? 10_000);
const FIRST_HOST = '127.21.0.1';
const INTERVAL_S = 10;
const SCRAPE_EVERY_MS = 5000;
const WARM_UP_MS = 25_000;
const MEASURE_MS = Number(process.env.BENCH_DAEMON_MEASURE_MS ?? 40_000);

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchDaemon(): Promise<void> {
  const farm = await startFarmProcess(DEVICES, FIRST_HOST, 5);
  const dir = mkdtempSync(join(tmpdir(), 'potencia-bench-'));
  const port = await freePort();
  const last = intToIpv4(ipv4ToInt(FIRST_HOST)! + DEVICES - 1);
  const config = join(dir, 'potencia.yaml');
  writeFileSync(
    config,
    `agent: { listen: "127.0.0.1:${port}" }\npolling: { interval: ${INTERVAL_S}s, timeout: 5s, concurrency: 256 }\ntargets:\n  - url: cgminer://${FIRST_HOST}-${last}\n`,
  );
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'agent', 'bin.js');
  const agent = spawn(process.execPath, [bin, 'run', '--config', config], { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS.join(' ') } });
  // As Prometheus asks: gzip. The time is until the last compressed byte arrives; decoding is ours.
  const scrape = (): Promise<{ text: string; ms: number }> =>
    new Promise((done, fail) => {
      const t0 = performance.now();
      const req = get({ host: '127.0.0.1', port, path: '/metrics', headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - t0;
          const body = Buffer.concat(chunks);
          done({ text: (res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'), ms });
        });
        res.on('error', fail);
      });
      req.on('error', fail);
    });
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('the agent did not poll every miner within 120 s');
      await sleep(1000);
      const text = await scrape().then(
        (s) => s.text,
        () => '',
      );
      if ((totals(text).get('potencia_devices') ?? 0) >= DEVICES) break;
    }
    await sleep(WARM_UP_MS);
    const before = totals((await scrape()).text);
    const scrapeMs: number[] = [];
    let peakRss = before.get('process_resident_memory_bytes') ?? 0;
    const t0 = Date.now();
    let after = before;
    while (Date.now() - t0 < MEASURE_MS) {
      await sleep(SCRAPE_EVERY_MS);
      const { text, ms } = await scrape();
      scrapeMs.push(ms);
      after = totals(text);
      peakRss = Math.max(peakRss, after.get('process_resident_memory_bytes') ?? 0);
    }
    const cpuS = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const polls = cpuS('potencia_collector_polls_total');
    const cpuUs = (cpuS('process_cpu_user_seconds_total') + cpuS('process_cpu_system_seconds_total')) * 1e6;
    const pct = (cpuUs / 1e6 / ((Date.now() - t0) / 1000)) * 100;
    console.log(`\nDaemon: ${DEVICES} simulated ASICs every ${INTERVAL_S} s, /metrics scraped (gzip) every ${SCRAPE_EVERY_MS / 1000} s, node ${DEPLOYED_NODE_OPTIONS.join(' ')}`);
    console.log(`  over ${((Date.now() - t0) / 1000).toFixed(0)} s after a ${WARM_UP_MS / 1000} s warm-up: ${polls} polls, ${scrapeMs.length} scrapes`);
    console.log(`  CPU ${(cpuUs / polls).toFixed(0)} µs per poll, rendering and scrapes included (${pct.toFixed(0)}% of one core)`);
    console.log(`  scrape ${median(scrapeMs).toFixed(0)} ms median, request to last gzip byte`);
    console.log(`  RSS ${(peakRss / 2 ** 20).toFixed(0)} MB highest sampled at the scrapes (/metrics caches included)`);
  } finally {
    agent.kill('SIGTERM');
    await new Promise((done) => agent.once('exit', done));
    await farm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchDaemon();
