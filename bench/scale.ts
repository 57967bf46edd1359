/**
 * One agent holding a very large site: 50,000 simulated ASICs through `potencia run` as deployed, with
 * every series (without jitter, the default, and with `jitter_ratio: 0.1`, the default before) and
 * with the per-board and per-fan series left out (`metrics:`), each with its RSS, its gzip scrape and
 * its series per device. Targets: RSS ≤ 1 GiB and a gzip scrape ≤ 500 ms.
 * The baseline in the same run is the compression the agent used before it compressed in pieces: the
 * same page gzipped as one stream, beside the pieces, timed here in the bench process.
 */
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzip, constants as zlibConstants } from 'node:zlib';
import { gzipInPieces } from '../exporters/prometheus/parallel-gzip.js';
import { type DaemonFigures, mb, runDaemon } from './daemon.js';
import { median } from './support.js';

const DEVICES = Number(process.env.BENCH_SCALE_DEVICES ?? 50_000);
/** At 50,000 miners a 60 s interval is ~830 polls a second, which leaves this 2-core machine room for the simulated farm. */
const INTERVAL_S = Number(process.env.BENCH_SCALE_INTERVAL_S ?? 60);
const MEASURE_MS = Number(process.env.BENCH_SCALE_MEASURE_MS ?? 60_000);
const TARGET_RSS_BYTES = 2 ** 30;
const TARGET_SCRAPE_MS = 500;

const gzipOneStream = promisify(gzip);

async function compressionTimes(page: Buffer): Promise<{ oneStreamMs: number; piecesMs: number }> {
  const one: number[] = [];
  const pieces: number[] = [];
  for (let i = 0; i < 3; i++) {
    let t0 = performance.now();
    await gzipOneStream(page, { level: zlibConstants.Z_BEST_SPEED });
    one.push(performance.now() - t0);
    t0 = performance.now();
    await gzipInPieces([page], zlibConstants.Z_BEST_SPEED);
    pieces.push(performance.now() - t0);
  }
  return { oneStreamMs: median(one), piecesMs: median(pieces) };
}

export async function benchScale(): Promise<void> {
  const runs: { name: string; metrics?: string; jitterRatio?: number }[] = [
    // Slots follow the order of the first sweep and polls keep it (agent/scheduler.ts), so between two
    // scrapes only the blocks of the devices whose phase came round change, and the rest of the page's
    // deflate data is reused: the same hours later, since phases hold.
    { name: 'every series' },
    // Jitter moves each poll around its phase: more blocks hold a device polled since the last scrape.
    { name: 'every series, jitter_ratio: 0.1', jitterRatio: 0.1 },
    { name: 'per_board: false, per_fan: false', metrics: '{ per_board: false, per_fan: false }' },
  ];
  const rows: { name: string; figures: DaemonFigures; compression: { oneStreamMs: number; piecesMs: number }; pageBytes: number }[] = [];
  for (const run of runs) {
    const figures = await runDaemon({
      devices: DEVICES,
      intervalS: INTERVAL_S,
      measureMs: MEASURE_MS,
      ...(run.metrics && { metrics: run.metrics }),
      ...(run.jitterRatio !== undefined && { jitterRatio: run.jitterRatio }),
    });
    const compression = await compressionTimes(figures.page);
    rows.push({ name: run.name, figures, compression, pageBytes: figures.page.length });
    // The next run's agent should not share the machine with this page.
    figures.page = Buffer.alloc(0);
  }
  console.log(`\nScale: one agent, ${DEVICES} simulated ASICs every ${INTERVAL_S} s, /metrics scraped with gzip every 5 s`);
  for (const { name, figures: f, compression: c, pageBytes } of rows) {
    const rssOk = f.peakRssBytes <= TARGET_RSS_BYTES ? 'PASS' : 'FAIL';
    const scrapeOk = f.scrapeMedianMs <= TARGET_SCRAPE_MS ? 'PASS' : 'FAIL';
    console.log(`  ${name}: ${f.seriesPerDevice.toFixed(1)} series per device, page ${mb(pageBytes)} MB`);
    console.log(`    RSS ${mb(f.peakRssBytes)} MB (at the last scrape: V8 heap used ${mb(f.heapUsedBytes)} MB, off-heap ${mb(f.externalBytes)} MB), target ≤ 1024 MB: ${rssOk}`);
    console.log(`    gzip scrape ${f.scrapeMedianMs.toFixed(0)} ms median (${f.scrapes} scrapes), target ≤ ${TARGET_SCRAPE_MS} ms: ${scrapeOk}`);
    console.log(`    the same page compressed here: in pieces ${c.piecesMs.toFixed(0)} ms, as one stream (the baseline) ${c.oneStreamMs.toFixed(0)} ms`);
    console.log(`    CPU ${f.cpuUsPerPoll.toFixed(0)} µs per poll (${f.cpuPercent.toFixed(0)}% of one core), ${f.polls} polls`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchScale();
