/**
 * /metrics cost at farm scale: potencia's render-on-write renderer against a plain prom-client
 * registry holding the same series, after every device changed (the worst case: a full poll round
 * between two scrapes). Both sides are measured: applying the readings (potencia renders lines
 * then, prom-client sets gauges) and generating the scrape.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import { Counter, Gauge, Registry } from 'prom-client';
import { DeviceStore } from '../agent/state.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { DeviceMetricsRenderer } from '../exporters/prometheus/renderer.js';
import { TextBuffer } from '../exporters/prometheus/text-buffer.js';
import { median } from './support.js';

const TARGET_MS_AT_10K = 50;
const TARGET_RATIO = 20;
const BOARDS = 3;
const FANS = 4;
const DEVICES_PER_RACK = 40;

interface Row {
  devices: number;
  series: number;
  /** Applying a round of changed readings: store upserts including the lines rendered on write. */
  writeMs: number;
  /** The same upserts into a store with no renderer attached: what render on write adds is writeMs minus this. */
  storeOnlyMs: number;
  /** Server-side /metrics generation after every device changed. */
  scrapeMs: number;
  /** The first scrape after start, which renders every device itself. */
  firstScrapeMs: number;
  unchangedMs: number;
  promWriteMs: number;
  promScrapeMs: number;
  bytes: number;
  memory: MemoryRow;
}

interface MemoryRow {
  rssMb: number;
  heapUsedMb: number;
  arrayBuffersMb: number;
  cachedMb: number;
}

/** A deterministic pseudo-random source, so runs compare. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function addressOf(i: number): string {
  return `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

/** Operator labels are shared per rack, as collectors pass the target's config object. */
export function rackLabels(count: number): Record<string, string>[] {
  const racks: Record<string, string>[] = [];
  for (let r = 0; r * DEVICES_PER_RACK < count; r++) {
    racks.push({ site: 'dal1', room: `hall-${String.fromCharCode(97 + (r % 8))}`, rack: `r${String(r).padStart(4, '0')}` });
  }
  return racks;
}

/** An Antminer S19 XP as the cgminer collector reports it: 3 boards (hashrate, hottest chip, state), 4 fans, inlet/outlet, shares. */
export function asicSnapshot(i: number, round: number, labels: Record<string, string>, random: () => number, at: Date): DeviceSnapshot {
  const boards = [];
  let hashrate = 0;
  for (let b = 0; b < BOARDS; b++) {
    const boardHs = 46.7e12 * (0.95 + random() * 0.1);
    hashrate += boardHs;
    boards.push({
      index: b,
      status: 'ok' as const,
      hashrate_hs: boardHs,
      chip_temperature_c: 60 + Math.round(random() * 15),
    });
  }
  const powerW = 3010 + Math.round(random() * 60);
  const fans: number[] = [];
  for (let f = 0; f < FANS; f++) fans.push(5400 + Math.round(random() * 600));
  return {
    id: `asic/${addressOf(i)}`,
    kind: 'asic',
    target: `cgminer://${addressOf(i)}:4028`,
    address: addressOf(i),
    labels,
    vendor: 'Bitmain',
    model: 'Antminer S19 XP',
    firmware: 'Antminer S19 XP 2023-05-18',
    dialect: 'antminer',
    up: true,
    observed_at: at.toISOString(),
    uptime_s: 86_400 + round * 30,
    hashrate_hs: hashrate,
    nominal_hashrate_hs: 140e12,
    power_w: powerW,
    power_source: 'reported',
    efficiency_j_per_th: powerW / (hashrate / 1e12),
    temperatures_c: { inlet: 24 + Math.round(random() * 6), outlet: 45 + Math.round(random() * 10) },
    fans_rpm: fans,
    boards,
    accepted_shares: 100_000 + round * 37 + i,
    rejected_shares: 12 + round,
    stale_shares: 3,
    hardware_errors: 40 + round,
  };
}

/** The same series as potencia's families, in prom-client metrics, for the comparison. */
class PromClientFarm {
  readonly registry = new Registry();
  readonly #labelsByDevice = new Map<string, Record<string, string>>();
  readonly #gauge: Record<string, Gauge>;
  readonly #counter: Record<string, Counter>;

  constructor() {
    const base = ['device', 'site', 'room', 'rack'];
    const registers = [this.registry];
    const gauge = (name: string, extra: string[] = []) => new Gauge({ name, help: name, labelNames: [...base, ...extra], registers });
    const counter = (name: string, extra: string[] = []) => new Counter({ name, help: name, labelNames: [...base, ...extra], registers });
    this.#gauge = {
      up: gauge('potencia_device_up'),
      info: gauge('potencia_device_info', ['kind', 'vendor', 'model', 'firmware', 'dialect', 'address']),
      lastSeen: gauge('potencia_device_last_seen_timestamp_seconds'),
      hashrate: gauge('potencia_miner_hashrate_hashes_per_second'),
      nominal: gauge('potencia_miner_nominal_hashrate_hashes_per_second'),
      power: gauge('potencia_device_power_watts', ['source']),
      efficiency: gauge('potencia_device_efficiency_joules_per_terahash'),
      temperature: gauge('potencia_device_temperature_celsius', ['sensor']),
      fan: gauge('potencia_device_fan_speed_rpm', ['fan']),
      boardHashrate: gauge('potencia_miner_board_hashrate_hashes_per_second', ['board']),
      boardChips: gauge('potencia_miner_board_chips', ['board']),
      boardChipsExpected: gauge('potencia_miner_board_chips_expected', ['board']),
      boardTemperature: gauge('potencia_miner_board_temperature_celsius', ['board', 'sensor']),
      boardStatus: gauge('potencia_miner_board_status', ['board', 'status']),
      uptime: gauge('potencia_device_uptime_seconds'),
    };
    this.#counter = {
      shares: counter('potencia_miner_shares_total', ['result']),
      hardwareErrors: counter('potencia_miner_hardware_errors_total'),
    };
  }

  /** Sets every series of the device: what an exporter built on prom-client does after each poll. */
  set(s: DeviceSnapshot, observedAtMs: number): void {
    let base = this.#labelsByDevice.get(s.id);
    if (base === undefined) {
      base = { device: s.id, site: s.labels.site ?? '', room: s.labels.room ?? '', rack: s.labels.rack ?? '' };
      this.#labelsByDevice.set(s.id, base);
    }
    const g = this.#gauge;
    g.up!.set(base, s.up ? 1 : 0);
    g.info!.set({ ...base, kind: s.kind, vendor: s.vendor ?? '', model: s.model ?? '', firmware: s.firmware ?? '', dialect: s.dialect ?? '', address: s.address ?? '' }, 1);
    g.lastSeen!.set(base, observedAtMs / 1000);
    if (s.hashrate_hs !== undefined) g.hashrate!.set(base, s.hashrate_hs);
    if (s.nominal_hashrate_hs !== undefined) g.nominal!.set(base, s.nominal_hashrate_hs);
    if (s.power_w !== undefined) g.power!.set({ ...base, source: s.power_source ?? 'unknown' }, s.power_w);
    if (s.efficiency_j_per_th !== undefined) g.efficiency!.set(base, s.efficiency_j_per_th);
    for (const sensor in s.temperatures_c) g.temperature!.set({ ...base, sensor }, s.temperatures_c[sensor]!);
    s.fans_rpm.forEach((rpm, fan) => {
      g.fan!.set({ ...base, fan: String(fan) }, rpm);
    });
    for (const b of s.boards ?? []) {
      const board = { ...base, board: String(b.index) };
      if (b.hashrate_hs !== undefined) g.boardHashrate!.set(board, b.hashrate_hs);
      if (b.chips !== undefined) g.boardChips!.set(board, b.chips);
      if (b.chips_expected !== undefined) g.boardChipsExpected!.set(board, b.chips_expected);
      if (b.chip_temperature_c !== undefined) g.boardTemperature!.set({ ...board, sensor: 'chip' }, b.chip_temperature_c);
      if (b.board_temperature_c !== undefined) g.boardTemperature!.set({ ...board, sensor: 'pcb' }, b.board_temperature_c);
      for (const status of ['ok', 'degraded', 'dead']) g.boardStatus!.set({ ...board, status }, b.status === status ? 1 : 0);
    }
    // Counters only go up in prom-client: reset to the device's own running total.
    for (const [result, value] of [
      ['accepted', s.accepted_shares],
      ['rejected', s.rejected_shares],
      ['stale', s.stale_shares],
    ] as const) {
      if (value === undefined) continue;
      const labels = { ...base, result };
      this.#counter.shares!.remove(labels);
      this.#counter.shares!.inc(labels, value);
    }
    if (s.hardware_errors !== undefined) {
      this.#counter.hardwareErrors!.remove(base);
      this.#counter.hardwareErrors!.inc(base, s.hardware_errors);
    }
    if (s.uptime_s !== undefined) g.uptime!.set(base, s.uptime_s);
  }
}

function countSeries(text: string): number {
  let series = 0;
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    const stop = end === -1 ? text.length : end;
    // prom-client separates families with blank lines; comments and blanks are not series.
    if (stop > start && text.charCodeAt(start) !== 35 /* # */) series++;
    start = stop + 1;
  }
  return series;
}

/** A full GC before reading memory, so the figures are live data, not garbage waiting to be collected. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function memoryNow(cachedBytes: number): MemoryRow {
  collectGarbage();
  const m = process.memoryUsage();
  return { rssMb: m.rss / 1e6, heapUsedMb: m.heapUsed / 1e6, arrayBuffersMb: m.arrayBuffers / 1e6, cachedMb: cachedBytes / 1e6 };
}

async function measure(devices: number, rounds: number): Promise<{ row: Row; output: string }> {
  const random = lcg(devices);
  const racks = rackLabels(devices);
  const start = Date.UTC(2025, 0, 1);
  const snapshotsFor = (round: number) => {
    const at = new Date(start + round * 30_000);
    const list: DeviceSnapshot[] = new Array(devices);
    for (let i = 0; i < devices; i++) list[i] = asicSnapshot(i, round, racks[Math.floor(i / DEVICES_PER_RACK)]!, random, at);
    return list;
  };

  const store = new DeviceStore();
  const bare = new DeviceStore();
  const renderer = new DeviceMetricsRenderer(store);
  // As the HTTP server does: one buffer reused across scrapes.
  const out = new TextBuffer();
  for (const s of snapshotsFor(0)) {
    store.upsert(s);
    bare.upsert(s);
  }
  let t = performance.now();
  renderer.writeTo(out);
  const firstScrapeMs = performance.now() - t;

  const scrapeTimes: number[] = [];
  const writeTimes: number[] = [];
  const storeOnlyTimes: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const next = snapshotsFor(round);
    // Alternate which store goes first, so neither always meets a warmer cache.
    for (const withRenderer of round % 2 ? [true, false] : [false, true]) {
      const target = withRenderer ? store : bare;
      t = performance.now();
      for (const s of next) target.upsert(s);
      (withRenderer ? writeTimes : storeOnlyTimes).push(performance.now() - t);
    }
    out.reset();
    t = performance.now();
    renderer.writeTo(out);
    scrapeTimes.push(performance.now() - t);
    const { changed, renderedAtScrape } = renderer.stats;
    if (changed !== devices || renderedAtScrape !== 0) throw new Error(`expected ${devices} devices rendered on write, got ${changed} (${renderedAtScrape} at the scrape)`);
  }
  t = performance.now();
  out.reset();
  renderer.writeTo(out);
  const unchangedMs = performance.now() - t;
  const output = out.toString();
  const series = countSeries(output);
  const bytes = out.length;
  const memory = memoryNow(renderer.stats.cachedBytes);
  renderer.close();
  store.expire(Number.MAX_SAFE_INTEGER, 0);
  bare.expire(Number.MAX_SAFE_INTEGER, 0);

  const farm = new PromClientFarm();
  for (const s of snapshotsFor(0)) farm.set(s, Date.parse(s.observed_at));
  let promOutput = await farm.registry.metrics();
  const promScrapeTimes: number[] = [];
  const promWriteTimes: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const next = snapshotsFor(round);
    t = performance.now();
    for (const s of next) farm.set(s, Date.parse(s.observed_at));
    promWriteTimes.push(performance.now() - t);
    t = performance.now();
    promOutput = await farm.registry.metrics();
    promScrapeTimes.push(performance.now() - t);
  }
  const promSeries = countSeries(promOutput);
  if (promSeries !== series) throw new Error(`prom-client holds ${promSeries} series, potencia ${series}: not a like-for-like comparison`);
  farm.registry.clear();

  return {
    row: {
      devices,
      series,
      writeMs: median(writeTimes),
      storeOnlyMs: median(storeOnlyTimes),
      scrapeMs: median(scrapeTimes),
      firstScrapeMs,
      unchangedMs,
      promWriteMs: median(promWriteTimes),
      promScrapeMs: median(promScrapeTimes),
      bytes,
      memory,
    },
    output,
  };
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

function table(header: string[], lines: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const cells of [header, ...lines]) console.log(cells.map((c, i) => c.padStart(widths[i]!)).join('  '));
}

export async function benchRender(): Promise<void> {
  console.log('/metrics after every device changed (a full poll round between two scrapes), median of rounds');
  console.log("potencia renders a device's lines when its reading is stored (render on write), so its write side includes rendering");
  const rows: Row[] = [];
  let gzipLine = '';
  for (const [devices, rounds] of [
    [10_000, 7],
    [50_000, 3],
  ] as const) {
    const { row, output } = await measure(devices, rounds);
    rows.push(row);
    if (devices === 10_000) {
      const raw = Buffer.from(output, 'utf8');
      const times: number[] = [];
      let gz = Buffer.alloc(0);
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        gz = gzipSync(raw, { level: zlibConstants.Z_BEST_SPEED });
        times.push(performance.now() - t0);
      }
      gzipLine = `gzip (level 1) of the 10,000-device output: ${fmt(median(times))} ms, ${(raw.length / 1e6).toFixed(1)} MB -> ${(gz.length / 1e6).toFixed(2)} MB`;
    }
  }

  console.log('\n(a) write side: apply one round of changed readings for every device');
  table(
    ['devices', 'potencia ms', 'store alone ms', 'render on write us/device', 'prom-client set ms'],
    rows.map((r) => [r.devices.toLocaleString('en-US'), fmt(r.writeMs), fmt(r.storeOnlyMs), fmt(((r.writeMs - r.storeOnlyMs) * 1000) / r.devices, 2), fmt(r.promWriteMs)]),
  );

  console.log('\n(b) scrape: server-side /metrics generation after that round; (c) ratios against prom-client');
  table(
    ['devices', 'series', 'MB', 'potencia ms', 'prom-client ms', 'scrape ratio', 'write+scrape ratio', 'first scrape ms', 'unchanged ms', 'result'],
    rows.map((r) => {
      const ratio = r.promScrapeMs / r.scrapeMs;
      const checks = [ratio >= TARGET_RATIO];
      if (r.devices === 10_000) checks.push(r.scrapeMs <= TARGET_MS_AT_10K);
      return [
        r.devices.toLocaleString('en-US'),
        r.series.toLocaleString('en-US'),
        (r.bytes / 1e6).toFixed(1),
        fmt(r.scrapeMs),
        fmt(r.promScrapeMs),
        `${fmt(ratio)}x`,
        `${fmt((r.promWriteMs + r.promScrapeMs) / (r.writeMs + r.scrapeMs))}x`,
        fmt(r.firstScrapeMs),
        fmt(r.unchangedMs),
        checks.every(Boolean) ? 'PASS' : 'FAIL',
      ];
    }),
  );
  console.log(`(d) targets: scrape <= ${TARGET_MS_AT_10K} ms at 10,000 devices; scrape >= ${TARGET_RATIO}x prom-client at every size`);
  for (const r of rows) {
    const total = r.writeMs + r.scrapeMs;
    console.log(
      `    write+scrape at ${r.devices.toLocaleString('en-US')}: potencia ${fmt(total)} ms against prom-client ${fmt(r.promWriteMs + r.promScrapeMs)} ms ` +
        `(${fmt(r.writeMs - r.storeOnlyMs)} ms of it is rendering on write, spread over the poll round)`,
    );
  }

  console.log('\nmemory with the caches (process, after the potencia rounds at that size, before the prom-client ones)');
  table(
    ['devices', 'rss MB', 'heap used MB', 'array buffers MB', 'renderer cache MB'],
    rows.map((r) => [r.devices.toLocaleString('en-US'), fmt(r.memory.rssMb), fmt(r.memory.heapUsedMb), fmt(r.memory.arrayBuffersMb), fmt(r.memory.cachedMb)]),
  );
  console.log(gzipLine);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchRender();
}
