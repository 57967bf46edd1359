/**
 * Economics at farm scale: one assessment round (assess + site plan) over 10,000 miners, and what the
 * per-device economics families add to a /metrics render — the same renderer with and without them,
 * after every device changed (a poll round) and after only the assessments changed (a price tick).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { AgentContext } from '../agent/daemon.js';
import { EconomicsPart } from '../agent/economics/part.js';
import { silentLogger } from '../agent/log.js';
import { DeviceStore } from '../agent/state.js';
import { economicsSchema } from '../config/economics-schema.js';
import { ECONOMICS_FAMILIES } from '../exporters/prometheus/economics-families.js';
import { DEVICE_FAMILIES } from '../exporters/prometheus/families.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { DeviceMetricsRenderer } from '../exporters/prometheus/renderer.js';
import { TextBuffer } from '../exporters/prometheus/text-buffer.js';
import { asicSnapshot, lcg, rackLabels } from './render.js';

const DEVICES = 10_000;
const ROUNDS = 7;
const PER_DEVICE_DEVICES_PER_RACK = 40;
/** A round runs every 15 s by default; it should stay a small share of one core. */
const TARGET_ASSESS_MS = 150;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

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
  const metrics = new AgentMetrics({ processMetrics: false, version: 'bench' });
  const economics = economicsSchema.parse({
    bitcoin: { price_usd: 95_000, difficulty: 152e12, fees_per_block_btc: 0.025, block_height: 925_000 },
    power: { flat_usd_per_kwh: 0.06 },
    site_power_cap_kw: DEVICES * 2,
  });
  const part = new EconomicsPart(economics, { now: () => start });
  const ctx: AgentContext = { store, metrics, logger: silentLogger, config: () => ({}) as never, setDiscoveredTargets: () => {} };
  part.start(ctx);

  const without = new DeviceMetricsRenderer(store, DEVICE_FAMILIES.filter((f) => !ECONOMICS_FAMILIES.includes(f)));
  const withEconomics = new DeviceMetricsRenderer(store, DEVICE_FAMILIES, () => metrics.deviceEconomics);
  const out = new TextBuffer();
  without.writeTo(out);
  withEconomics.writeTo(out);

  const assessMs: number[] = [];
  const beforeMs: number[] = [];
  const afterMs: number[] = [];
  const priceTickMs: number[] = [];
  let seriesBefore = 0;
  let seriesAfter = 0;
  let bytesBefore = 0;
  let bytesAfter = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    fill(store, round);
    let t = performance.now();
    part.assessNow();
    assessMs.push(performance.now() - t);
    // Alternate which renderer goes first, so neither always meets a warmer cache.
    const renders: [DeviceMetricsRenderer, number[]][] = round % 2 ? [[without, beforeMs], [withEconomics, afterMs]] : [[withEconomics, afterMs], [without, beforeMs]];
    for (const [renderer, times] of renders) {
      out.reset();
      t = performance.now();
      renderer.writeTo(out);
      times.push(performance.now() - t);
      if (round === ROUNDS) {
        if (renderer === without) [seriesBefore, bytesBefore] = [countLines(out), out.length];
        else [seriesAfter, bytesAfter] = [countLines(out), out.length];
      }
    }
    // A price tick: new assessments, no new readings.
    part.setPowerPriceOverride(0.06 + round / 1000);
    out.reset();
    t = performance.now();
    withEconomics.writeTo(out);
    priceTickMs.push(performance.now() - t);
  }
  part.stop();

  const a = median(assessMs);
  const b = median(beforeMs);
  const c = median(afterMs);
  console.log(`assessment round (assess ${DEVICES.toLocaleString('en-US')} devices + site plan): ${a.toFixed(1)} ms ${a <= TARGET_ASSESS_MS ? 'PASS' : 'FAIL'} (target <= ${TARGET_ASSESS_MS} ms)`);
  console.log(`render without economics families: ${b.toFixed(1)} ms, ${seriesBefore.toLocaleString('en-US')} series, ${(bytesBefore / 1e6).toFixed(1)} MB`);
  console.log(`render with economics families:    ${c.toFixed(1)} ms, ${seriesAfter.toLocaleString('en-US')} series, ${(bytesAfter / 1e6).toFixed(1)} MB (+${(((c - b) / b) * 100).toFixed(0)}% time for +${(((seriesAfter - seriesBefore) / seriesBefore) * 100).toFixed(0)}% series)`);
  console.log(`render after a price tick only (economics re-attached, no new readings): ${median(priceTickMs).toFixed(1)} ms`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchEconomics();
}
