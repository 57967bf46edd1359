/**
 * Economics at farm scale: one assessment round (assess + site plan) over 10,000 miners, and what the
 * per-device economics families add to /metrics — the same renderer with and without them, on the
 * write side (readings rendered on write) and at the scrape, after every device changed (a poll
 * round) and after only the assessments changed (a price tick).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { EconomicsPart } from '../agent/economics/part.js';
import { planSite } from '../agent/economics/plan.js';
import { DeviceStore } from '../agent/state.js';
import { economicsSchema } from '../config/economics-schema.js';
import { ECONOMICS_FAMILIES } from '../exporters/prometheus/economics-families.js';
import { DEVICE_FAMILIES } from '../exporters/prometheus/families.js';
import { DeviceMetricsRenderer } from '../exporters/prometheus/renderer.js';
import { TextBuffer } from '../exporters/prometheus/text-buffer.js';
import { detachedContext } from './context.js';
import { asicSnapshot, lcg, rackLabels } from './render.js';
import { median } from './support.js';

const DEVICES = 10_000;
const ROUNDS = 7;
const PER_DEVICE_DEVICES_PER_RACK = 40;
/** A round runs every 15 s by default; it should stay a small share of one core. */
const TARGET_ASSESS_MS = 150;
/** The site plan under the cap for 10,000 devices: the bound. */
const TARGET_PLAN_MS = 1_000;

function countLines(out: TextBuffer): number {
  const text = out.toString();
  let n = 0;
  for (const line of text.split('\n')) if (line !== '' && !line.startsWith('#')) n++;
  return n;
}

export async function benchEconomics(): Promise<void> {
  console.log(`economics at ${DEVICES.toLocaleString('en-US')} miners (median of ${ROUNDS} rounds)`);
  const random = lcg(DEVICES);
  const racks = rackLabels(DEVICES);
  const start = Date.UTC(2025, 0, 1);
  const fill = (store: DeviceStore, round: number) => {
    const at = new Date(start + round * 30_000);
    for (let i = 0; i < DEVICES; i++) store.upsert(asicSnapshot(i, round, racks[Math.floor(i / PER_DEVICE_DEVICES_PER_RACK)]!, random, at));
  };

  const store = new DeviceStore();
  fill(store, 0);
  const economics = economicsSchema.parse({
    bitcoin: { price_usd: 95_000, difficulty: 152e12, fees_per_block_btc: 0.025, block_height: 925_000 },
    power: { flat_usd_per_kwh: 0.06 },
    site_power_cap_kw: DEVICES * 2,
  });
  const part = new EconomicsPart(economics, { now: () => start });
  part.start(detachedContext(store));

  const out = new TextBuffer();
  const scrape = (renderer: DeviceMetricsRenderer): number => {
    out.reset();
    const t = performance.now();
    renderer.writeTo(out);
    return performance.now() - t;
  };
  const timed = (run: () => void): number => {
    const t = performance.now();
    run();
    return performance.now() - t;
  };

  // One renderer attached at a time: each renders on write, so two would share the write side.
  const without = new DeviceMetricsRenderer(
    store,
    DEVICE_FAMILIES.filter((f) => !ECONOMICS_FAMILIES.includes(f)),
  );
  scrape(without);
  const assessMs: number[] = [];
  const writeBeforeMs: number[] = [];
  const scrapeBeforeMs: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    writeBeforeMs.push(timed(() => fill(store, round)));
    assessMs.push(timed(() => part.assessNow()));
    scrapeBeforeMs.push(scrape(without));
  }
  const seriesBefore = countLines(out);
  const bytesBefore = out.length;
  without.close();

  // The plan alone, against the baseline of ranking by margin per watt (what a greedy plan costs).
  const assessments = part.assessments();
  const capKw = economics.site_power_cap_kw!;
  const planMs: number[] = [];
  const rankMs: number[] = [];
  let plan = planSite(assessments, capKw);
  for (let round = 0; round < ROUNDS; round++) {
    planMs.push(timed(() => (plan = planSite(assessments, capKw, { nowMs: start }))));
    rankMs.push(timed(() => [...assessments].sort((x, y) => (y.margin_usd_per_watt_day ?? 0) - (x.margin_usd_per_watt_day ?? 0))));
  }

  const withEconomics = new DeviceMetricsRenderer(store, DEVICE_FAMILIES, () => part);
  scrape(withEconomics);
  const writeAfterMs: number[] = [];
  const scrapeAfterAssessMs: number[] = [];
  const scrapeAfterReadingsMs: number[] = [];
  const priceTickMs: number[] = [];
  let economicsAtScrape = 0;
  for (let round = ROUNDS + 1; round <= 2 * ROUNDS + 1; round++) {
    if (round % 2) {
      // Readings, then an assessment round: the scrape renders every device's economics lines.
      writeAfterMs.push(timed(() => fill(store, round)));
      part.assessNow();
      scrapeAfterAssessMs.push(scrape(withEconomics));
      economicsAtScrape = withEconomics.stats.economicsAtScrape;
    } else {
      // An assessment round, then readings: each reading renders its device's new economics lines on write.
      part.assessNow();
      writeAfterMs.push(timed(() => fill(store, round)));
      scrapeAfterReadingsMs.push(scrape(withEconomics));
    }
    // A price tick: new assessments, no new readings.
    part.setPowerPriceOverride(0.06 + round / 1000);
    priceTickMs.push(scrape(withEconomics));
  }
  const seriesAfter = countLines(out);
  const bytesAfter = out.length;
  withEconomics.close();
  part.stop();

  const a = median(assessMs);
  const b = median(scrapeBeforeMs);
  const c = median(scrapeAfterAssessMs);
  const n = DEVICES.toLocaleString('en-US');
  console.log(`assessment round (assess ${n} devices + site plan): ${a.toFixed(1)} ms ${a <= TARGET_ASSESS_MS ? 'PASS' : 'FAIL'} (target <= ${TARGET_ASSESS_MS} ms)`);
  const p = median(planMs);
  console.log(
    `site plan under a ${capKw.toLocaleString('en-US')} kW cap (${n} devices, knapsack core + LP bound): ${p.toFixed(1)} ms ${p <= TARGET_PLAN_MS ? 'PASS' : 'FAIL'} (target <= ${TARGET_PLAN_MS} ms; ` +
      `baseline, ranking by margin per watt alone: ${median(rankMs).toFixed(1)} ms); margin $${plan.optimality!.margin_usd_per_day.toFixed(2)}/day, within $${plan.optimality!.gap_usd_per_day.toFixed(2)}/day of the LP bound`,
  );
  console.log(
    `readings round (${n} upserts, rendered on write): ${median(writeBeforeMs).toFixed(1)} ms without economics families, ${median(writeAfterMs).toFixed(1)} ms with them`,
  );
  console.log(`scrape without economics families: ${b.toFixed(1)} ms, ${seriesBefore.toLocaleString('en-US')} series, ${(bytesBefore / 1e6).toFixed(1)} MB`);
  console.log(
    `scrape with economics families, readings then an assessment round (${economicsAtScrape.toLocaleString('en-US')} devices' economics lines rendered by the scrape): ` +
      `${c.toFixed(1)} ms, ${seriesAfter.toLocaleString('en-US')} series (+${(((seriesAfter - seriesBefore) / seriesBefore) * 100).toFixed(0)}%), ${(bytesAfter / 1e6).toFixed(1)} MB`,
  );
  console.log(`scrape with economics families, an assessment round then readings (economics lines rendered on write): ${median(scrapeAfterReadingsMs).toFixed(1)} ms`);
  console.log(`scrape after a price tick only (economics lines re-rendered by the scrape, reading lines kept): ${median(priceTickMs).toFixed(1)} ms`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchEconomics();
}
