/**
 * The hostile floor: the daemon polling 500 good simulated miners beside 50 hostile peers of every kind
 * in simulator/hostile.ts (huge, chunked and wrong-question replies, 1e308 values, 40,000-row DEVS), and
 * the same daemon over the good miners alone as the baseline. It prints how fresh the good miners' data
 * stays, the agent's CPU, RSS and scrape time, side by side. Targets: good data never older than twice
 * the interval; RSS within 1.5× the clean run.
 *
 * `node dist/bench/hostile.js` runs it; `--serve-hostile HOST N` is the child that serves the peers, so
 * their CPU is not counted against the agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { intToIpv4, ipv4ToInt } from '../collectors/target.js';
import { HOSTILE_KINDS, startHostilePeer } from '../simulator/hostile.js';
import { DEPLOYED_NODE_OPTIONS, freePort, median, startFarmProcess } from './support.js';

const GOOD = Number(process.env.BENCH_HOSTILE_GOOD ?? 500);
const HOSTILE = Number(process.env.BENCH_HOSTILE_PEERS ?? 50);
const INTERVAL_S = Number(process.env.BENCH_HOSTILE_INTERVAL_S ?? 10);
const WARM_UP_MS = Number(process.env.BENCH_HOSTILE_WARM_UP_MS ?? 2 * INTERVAL_S * 1000);
const MEASURE_MS = Number(process.env.BENCH_HOSTILE_MEASURE_MS ?? 6 * INTERVAL_S * 1000);
const SAMPLE_EVERY_MS = 2000;
const GOOD_HOST = '127.23.0.1';
const HOSTILE_HOST = '127.24.0.1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Figures {
  /** Oldest good miner's reading, at the worst sample, in seconds. */
  maxAgeS: number;
  cpuPct: number;
  peakRssMb: number;
  scrapeMs: number;
  goodUp: number;
  series: number;
}

function fetchText(port: number, path: string): Promise<{ text: string; ms: number }> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const req = get({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', fail);
    });
    req.on('error', fail);
  });
}

/** The agent's own series summed over label sets, and how many sample lines the page had. */
function totals(text: string): { values: Map<string, number>; lines: number } {
  const values = new Map<string, number>();
  let lines = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    lines++;
    const name = line.slice(0, line.search(/[{ ]/));
    values.set(name, (values.get(name) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return { values, lines };
}

/** One daemon run over the good miners and, when `hostileCount` > 0, the hostile peers. */
async function runAgent(hostileCount: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'potencia-bench-hostile-'));
  const port = await freePort();
  const lastGood = intToIpv4(ipv4ToInt(GOOD_HOST)! + GOOD - 1);
  const targets = [`  - url: cgminer://${GOOD_HOST}-${lastGood}`];
  if (hostileCount > 0) targets.push(`  - url: cgminer://${HOSTILE_HOST}-${intToIpv4(ipv4ToInt(HOSTILE_HOST)! + hostileCount - 1)}`);
  const config = join(dir, 'potencia.yaml');
  writeFileSync(
    config,
    `agent: { listen: "127.0.0.1:${port}" }\npolling: { interval: ${INTERVAL_S}s, timeout: ${Math.min(5, INTERVAL_S / 2)}s, concurrency: 256 }\ntargets:\n${targets.join('\n')}\n`,
  );
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'agent', 'bin.js');
  const agent = spawn(process.execPath, [bin, 'run', '--config', config], { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS.join(' ') } });
  const isGood = (s: DeviceSnapshot) => s.address !== undefined && ipv4ToInt(s.address)! >= ipv4ToInt(GOOD_HOST)! && ipv4ToInt(s.address)! < ipv4ToInt(GOOD_HOST)! + GOOD;
  const goodDevices = async () => (JSON.parse((await fetchText(port, '/api/devices')).text) as DeviceSnapshot[]).filter(isGood);
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (agent.exitCode !== null) throw new Error(`the agent exited with ${agent.exitCode}`);
      if (Date.now() > deadline) throw new Error('the agent did not read every good miner within 120 s');
      await sleep(1000);
      const up = await goodDevices().then(
        (devices) => devices.filter((d) => d.up).length,
        () => 0,
      );
      if (up >= GOOD) break;
    }
    await sleep(WARM_UP_MS);
    const before = totals((await fetchText(port, '/metrics')).text).values;
    let after = before;
    let peakRss = before.get('process_resident_memory_bytes') ?? 0;
    let maxAgeS = 0;
    let goodUp = GOOD;
    let series = 0;
    const scrapeMs: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < MEASURE_MS) {
      await sleep(SAMPLE_EVERY_MS);
      const page = await fetchText(port, '/metrics');
      scrapeMs.push(page.ms);
      const parsed = totals(page.text);
      after = parsed.values;
      series = parsed.lines;
      peakRss = Math.max(peakRss, after.get('process_resident_memory_bytes') ?? 0);
      const devices = await goodDevices();
      const now = Date.now();
      goodUp = Math.min(goodUp, devices.filter((d) => d.up).length);
      for (const d of devices) maxAgeS = Math.max(maxAgeS, (now - Date.parse(d.observed_at)) / 1000);
    }
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const cpuS = delta('process_cpu_user_seconds_total') + delta('process_cpu_system_seconds_total');
    return { maxAgeS, cpuPct: (cpuS / ((Date.now() - t0) / 1000)) * 100, peakRssMb: peakRss / 2 ** 20, scrapeMs: median(scrapeMs), goodUp, series };
  } finally {
    if (agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((done) => agent.once('exit', done));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The hostile peers in a child process, one kind after another on consecutive addresses. */
async function startHostileProcess(count: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve-hostile', HOSTILE_HOST, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`hostile peers exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', ready);
  });
  if (line !== 'ready') throw new Error(line);
  return child;
}

async function serveHostile(host: string, count: number): Promise<void> {
  const first = ipv4ToInt(host)!;
  for (let i = 0; i < count; i++) await startHostilePeer(HOSTILE_KINDS[i % HOSTILE_KINDS.length]!, intToIpv4(first + i), 4028);
  console.log('ready');
}

export async function benchHostile(): Promise<void> {
  const farm = await startFarmProcess(GOOD, GOOD_HOST, 7, { failures: false });
  try {
    const clean = await runAgent(0);
    const peers = await startHostileProcess(HOSTILE);
    let hostile: Figures;
    try {
      hostile = await runAgent(HOSTILE);
    } finally {
      peers.kill('SIGTERM');
    }
    const row = (name: string, f: Figures) =>
      `  ${name.padEnd(8)} ${f.maxAgeS.toFixed(1).padStart(8)} s ${f.cpuPct.toFixed(0).padStart(6)}% ${f.peakRssMb.toFixed(0).padStart(7)} MB ${f.scrapeMs.toFixed(0).padStart(7)} ms ${String(f.goodUp).padStart(8)} ${String(f.series).padStart(9)}`;
    console.log(`\nHostile floor: ${GOOD} good simulated miners, then the same beside ${HOSTILE} hostile peers (${HOSTILE_KINDS.join(', ')}), every ${INTERVAL_S} s`);
    console.log(
      `  ${'run'.padEnd(8)} ${'oldest good'.padStart(10)} ${'CPU'.padStart(7)} ${'peak RSS'.padStart(10)} ${'scrape'.padStart(10)} ${'good up'.padStart(8)} ${'series'.padStart(9)}`,
    );
    console.log(row('clean', clean));
    console.log(row('hostile', hostile));
    const freshOk = hostile.maxAgeS <= 2 * INTERVAL_S;
    const rssRatio = hostile.peakRssMb / clean.peakRssMb;
    console.log(
      `  good data within 2 × interval (${2 * INTERVAL_S} s): ${freshOk ? 'yes' : 'NO'}; RSS ${rssRatio.toFixed(2)}× the clean run (target ≤ 1.5×): ${rssRatio <= 1.5 ? 'yes' : 'NO'}`,
    );
  } finally {
    await farm.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const serve = process.argv.indexOf('--serve-hostile');
  if (serve >= 0) await serveHostile(process.argv[serve + 1]!, Number(process.argv[serve + 2]));
  else await benchHostile();
}
