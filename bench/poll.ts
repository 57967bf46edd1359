/**
 * A poll sweep at farm scale: 10,000 simulated ASICs on loopback, polled by the agent's real pipeline
 * (scheduler → CGMiner collector → enrich → store), with the farm in a child process so its CPU is
 * not counted. Baseline, measured in the same run: bare sockets doing the same request/reply with no
 * parsing, which is the floor any poller pays.
 *
 * Targets: ≤ 10 s wall, ≤ 300 µs CPU per poll, RSS ≤ 300 MB.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Scheduler } from '../agent/scheduler.js';
import { enrichSnapshot } from '../agent/enrich.js';
import { DeviceStore } from '../agent/state.js';
import { mapLimited } from '../agent/limit.js';
import { createCollector } from '../collectors/registry.js';
import { intToIpv4, ipv4ToInt, type Target } from '../collectors/target.js';

const DEVICES = Number(process.env.BENCH_POLL_DEVICES ?? 10_000);
const CONCURRENCY = 256;
const FIRST_HOST = '127.20.0.1';
const TARGET_WALL_S = 10;
const TARGET_CPU_US = 300;
const TARGET_RSS_MB = 300;

interface FarmProcess {
  stop(): Promise<void>;
}

async function startFarmProcess(devices: number): Promise<FarmProcess> {
  const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'simulator', 'cli.js');
  const child = spawn(process.execPath, [cli, '--devices', String(devices), '--host', FIRST_HOST, '--seed', '5'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`simulator exited with ${code}`)));
    lines.once('line', (line) => ((JSON.parse(line) as { ready?: boolean }).ready ? ready() : fail(new Error(line))));
  });
  return {
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

function targets(devices: number): Target[] {
  const first = ipv4ToInt(FIRST_HOST)!;
  return Array.from({ length: devices }, (_, i) => {
    const host = intToIpv4(first + i);
    return { url: `cgminer://${host}:4028`, scheme: 'cgminer', host, port: 4028, labels: { site: 'bench', rack: `r${Math.floor(i / 40)}` }, intervalMs: 600_000, timeoutMs: 5000 };
  });
}

/** The floor: connect, send the same request, read to the NUL, close. No parsing, no snapshot. */
function bareRoundTrip(host: string): Promise<number> {
  return new Promise((done) => {
    let bytes = 0;
    const socket = connect({ host, port: 4028 }, () => socket.write('{"command":"summary+stats+pools"}'));
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (chunk[chunk.length - 1] === 0) socket.destroy();
    });
    socket.on('error', () => done(bytes));
    socket.on('close', () => done(bytes));
    socket.setTimeout(5000, () => socket.destroy());
  });
}

interface Sweep {
  wallS: number;
  cpuUsPerPoll: number;
  up?: number;
}

async function measure(run: () => Promise<number | undefined>): Promise<Sweep> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const up = await run();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wallS, cpuUsPerPoll: (cpu.user + cpu.system) / DEVICES, up };
}

export async function benchPoll(): Promise<void> {
  const farm = await startFarmProcess(DEVICES);
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    const list = targets(DEVICES);
    const bare = () =>
      measure(async () => {
        await mapLimited(list, CONCURRENCY, (t) => bareRoundTrip(t.host));
        return undefined;
      });
    const store = new DeviceStore();
    const sweep = () =>
      measure(
        () =>
          new Promise<number>((done) => {
            let recorded = 0;
            const scheduler = new Scheduler({
              concurrency: CONCURRENCY,
              jitterRatio: 0.1,
              backoffMaxMs: 600_000,
              createCollector: (t) => createCollector(t, { maxResponseBytes: 4 * 1024 * 1024 }),
              onResult: (_t, snapshots) => {
                for (const s of snapshots) store.upsert(enrichSnapshot(s));
                if (++recorded === DEVICES) {
                  void scheduler.stop(0).then(() => done([...store.values()].filter((s) => s.up).length));
                }
              },
            });
            scheduler.setTargets(list);
            scheduler.start();
          }),
      );
    // The first sweep pays for JIT warm-up and filling the store; a daemon lives in the steady state
    // of the second and later sweeps, so that is the figure held against the targets.
    await bare();
    const baseline = await bare();
    const cold = await sweep();
    const agent = await sweep();
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const rssMb = peakRss / 1024 / 1024;
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    console.log(`\nPoll sweep: ${DEVICES} simulated ASICs on loopback, concurrency ${CONCURRENCY}, farm in a child process`);
    console.log(`  bare sockets (floor)   wall ${baseline.wallS.toFixed(2)} s   CPU ${baseline.cpuUsPerPoll.toFixed(0)} µs/poll`);
    console.log(`  potencia, first sweep  wall ${cold.wallS.toFixed(2)} s   CPU ${cold.cpuUsPerPoll.toFixed(0)} µs/poll   (JIT warm-up, store filling)`);
    console.log(`  potencia, steady sweep wall ${agent.wallS.toFixed(2)} s   CPU ${agent.cpuUsPerPoll.toFixed(0)} µs/poll   ${agent.up} up`);
    console.log(`  ratio to floor         wall ${(agent.wallS / baseline.wallS).toFixed(2)}×   CPU ${(agent.cpuUsPerPoll / baseline.cpuUsPerPoll).toFixed(2)}×`);
    console.log(`  peak RSS               ${rssMb.toFixed(0)} MB`);
    console.log(
      `  targets: wall ≤ ${TARGET_WALL_S} s ${verdict(agent.wallS <= TARGET_WALL_S)} · CPU ≤ ${TARGET_CPU_US} µs/poll ${verdict(agent.cpuUsPerPoll <= TARGET_CPU_US)} · RSS ≤ ${TARGET_RSS_MB} MB ${verdict(rssMb <= TARGET_RSS_MB)}`,
    );
  } finally {
    clearInterval(sampler);
    await farm.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchPoll();
