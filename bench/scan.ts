/**
 * Discovery at farm scale: a /16 on loopback (65,534 addresses) holding 10,000 simulated miners, found
 * with `scan()` (connect probe of every address, then identification of the open ports), with the farm
 * in a child process so its CPU is not counted. Baseline, measured in the same run: a bare connect
 * probe of the same /16 (connect, close, nothing else), the floor any scanner pays.
 *
 * Then the same scan with every protocol's probes (4433 and 80 beside 4028, as `potencia scan` and
 * discovery run it), side by side with the CGMiner-only figure: what the extra ports cost.
 *
 * Target: TARGET_WALL_S for the whole scan, with the extra probes too; bench/README.md keeps the
 * figures behind the design. BENCH_SCAN_RANGE (a smaller block) and BENCH_SCAN_DEVICES size a smoke run.
 */
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';
import { DEFAULT_IDENTIFY_CONCURRENCY, DEFAULT_PROBE_CONCURRENCY, scan } from '../collectors/cgminer/discovery.js';
import { FLOOR_PROTOCOLS } from '../collectors/scan-protocols.js';
import { expandHosts } from '../collectors/target.js';
import { startFarmProcess } from './support.js';

const DEVICES = Number(process.env.BENCH_SCAN_DEVICES ?? 10_000);
const RANGE = process.env.BENCH_SCAN_RANGE ?? '127.50.0.0/16';
const FIRST_HOST = expandHosts(RANGE)[0]!;
const TARGET_WALL_S = 30;

/** The floor: connect and close every address, same concurrency and timeout, counting the open ones. */
async function bareProbe(hosts: readonly string[], concurrency: number): Promise<number> {
  let next = 0;
  let open = 0;
  const one = (host: string) =>
    new Promise<void>((done) => {
      const socket = connect({ host, port: 4028 });
      // Deferred past pending I/O as in scan(), or a loaded machine counts open ports as silent.
      const timer = setTimeout(() => setImmediate(() => socket.destroy()), 1000);
      socket.once('connect', () => {
        open++;
        socket.destroy();
      });
      socket.once('error', () => {});
      socket.once('close', () => {
        clearTimeout(timer);
        done();
      });
    });
  const worker = async () => {
    while (next < hosts.length) await one(hosts[next++]!);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return open;
}

export async function benchScan(): Promise<void> {
  const farm = await startFarmProcess(DEVICES, FIRST_HOST, 9);
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    const hosts = expandHosts(RANGE);
    const expectedMiners = DEVICES - farm.dead.length;

    // The first pass warms the JIT and the kernel's socket caches; the second is the floor held against the scan.
    await bareProbe(hosts, DEFAULT_PROBE_CONCURRENCY);
    const bareStart = performance.now();
    const bareOpen = await bareProbe(hosts, DEFAULT_PROBE_CONCURRENCY);
    const bareS = (performance.now() - bareStart) / 1000;

    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const result = await scan({ ranges: [RANGE] });
    const wallS = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    const probeS = result.duration_ms.probe / 1000;
    const identifyS = result.duration_ms.identify / 1000;
    const open = result.identified.length + result.unidentified.length;
    const found = result.identified.length === expectedMiners && result.unidentified.length === 0 && result.silent.count === hosts.length - expectedMiners;
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    console.log(`\nScan: ${RANGE} on loopback (${hosts.length} addresses), ${DEVICES} simulated miners (${farm.dead.length} seed-dead), farm in a child process`);
    console.log(
      `  bare connect probe (floor)  wall ${bareS.toFixed(2)} s   ${Math.round(hosts.length / bareS)} hosts/s   ${bareOpen} open   concurrency ${DEFAULT_PROBE_CONCURRENCY}`,
    );
    console.log(
      `  scan: probe stage           wall ${probeS.toFixed(2)} s   ${Math.round(hosts.length / probeS)} hosts/s   ${open} open   (${(probeS / bareS).toFixed(2)}× the floor)`,
    );
    console.log(`  scan: identify stage        wall ${identifyS.toFixed(2)} s   ${Math.round(open / identifyS)} miners/s   concurrency ${DEFAULT_IDENTIFY_CONCURRENCY}`);
    console.log(
      `  scan: total                 wall ${wallS.toFixed(2)} s   ${Math.round(hosts.length / wallS)} hosts/s   CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s   peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB`,
    );
    console.log(
      `  found: ${result.identified.length} identified (expected ${expectedMiners}), ${result.unidentified.length} unidentified (expected 0), ${result.silent.count} silent (expected ${hosts.length - expectedMiners})`,
    );
    console.log(`  targets: total ≤ ${TARGET_WALL_S} s ${verdict(wallS <= TARGET_WALL_S)} · every miner found ${verdict(found)}`);

    const everyStart = performance.now();
    const every = await scan({ ranges: [RANGE], protocols: FLOOR_PROTOCOLS });
    const everyS = (performance.now() - everyStart) / 1000;
    const everyFound =
      every.identified.length === expectedMiners &&
      every.unidentified.length === 0 &&
      every.identified.every((m) => m.protocol === 'cgminer') &&
      every.silent.count === hosts.length - expectedMiners;
    console.log(
      `  scan, ports ${every.ports.join(', ')}    wall ${everyS.toFixed(2)} s   probe ${(every.duration_ms.probe / 1000).toFixed(2)} s   identify ${(every.duration_ms.identify / 1000).toFixed(2)} s   (${(everyS / wallS).toFixed(2)}× the 4028-only scan)`,
    );
    console.log(`  targets: total with every protocol ≤ ${TARGET_WALL_S} s ${verdict(everyS <= TARGET_WALL_S)} · every miner found once ${verdict(everyFound)}`);
  } finally {
    clearInterval(sampler);
    await farm.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchScan();
