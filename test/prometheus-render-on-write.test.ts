import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { DeviceEconomics, DeviceEconomicsSource } from '../agent/contracts/economics.js';
import type { DeviceAssessment } from '../agent/economics/types.js';
import { DeviceStore } from '../agent/state.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { DEVICE_FAMILIES } from '../exporters/prometheus/families.js';
import type { DeviceFamily } from '../exporters/prometheus/family.js';
import { PollStats } from '../agent/poll-stats.js';
import { MetricsExposition } from '../exporters/prometheus/exposition.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { DeviceMetricsRenderer } from '../exporters/prometheus/renderer.js';
import { segmentViews } from '../exporters/prometheus/page-segment.js';
import { startHttpServer } from '../exporters/prometheus/server.js';
import { TextBuffer } from '../exporters/prometheus/text-buffer.js';
import { antminer, downWhatsminer } from './fixtures/prometheus/snapshots.js';

function samples(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** Family name → its sample lines, sorted; throws when a family's lines are not together or its header repeats. */
function byFamily(text: string): Map<string, string[]> {
  const families = new Map<string, string[]>();
  let name = '';
  let current: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP (\S+) /.exec(line);
    if (help) {
      if (families.has(help[1]!)) throw new Error(`${help[1]} appears twice`);
      name = help[1]!;
      current = [];
      families.set(name, current);
    } else if (!line.startsWith('# TYPE ')) {
      if (!line.startsWith(name)) throw new Error(`sample outside its family ${name}: ${line}`);
      current.push(line);
    }
  }
  for (const lines of families.values()) lines.sort();
  return families;
}

/** What a fresh renderer makes of the store now: the reference a long-lived renderer must match. */
function freshRender(store: DeviceStore, economics?: DeviceEconomicsSource): Map<string, string[]> {
  const renderer = new DeviceMetricsRenderer(store, DEVICE_FAMILIES, () => economics);
  const text = renderer.render();
  renderer.close();
  return byFamily(text);
}

function assessment(id: string, marginUsd: number): DeviceAssessment {
  return {
    device_id: id,
    kind: 'asic',
    up: true,
    assessed_at: '2025-01-01T12:00:00.000Z',
    revenue_usd_per_day: { mining: 10 + marginUsd },
    power_cost_usd_per_day: 10,
    margin_usd_per_day: { mining: marginUsd },
    break_even_usd_per_kwh: 0.08,
    recommendation: marginUsd > 0 ? 'mine' : 'curtail',
    reason: 'test',
    stale: false,
    stale_inputs: [],
  };
}

/** A DeviceEconomicsSource as the economics part offers it: new entries and a new version per round. */
class Assessments implements DeviceEconomicsSource {
  version = 0;
  #entries = new Map<string, DeviceEconomics>();

  get(id: string): DeviceEconomics | undefined {
    return this.#entries.get(id);
  }

  round(margins: Record<string, number>): void {
    this.#entries = new Map(Object.entries(margins).map(([id, m]) => [id, { assessment: assessment(id, m) }]));
    this.version++;
  }
}

/** DEVICE_FAMILIES with every reading family counting its calls. */
function countingFamilies(): { families: DeviceFamily[]; readingCalls: () => number } {
  let calls = 0;
  const families = DEVICE_FAMILIES.map(
    (f): DeviceFamily =>
      f.input === 'economics'
        ? f
        : {
            ...f,
            lines(view) {
              calls++;
              return f.lines(view);
            },
          },
  );
  return { families, readingCalls: () => calls };
}

describe('DeviceMetricsRenderer render on write', () => {
  it('renders a changed device when its reading is stored, and the next scrape shows the new value', () => {
    const store = new DeviceStore();
    const { families, readingCalls } = countingFamilies();
    const renderer = new DeviceMetricsRenderer(store, families);
    store.upsert(antminer());
    store.upsert(downWhatsminer());
    renderer.render();

    const before = readingCalls();
    store.upsert(antminer({ fans_rpm: [7001, 7002, 7003] }));
    // The lines were rendered by the upsert itself, before any scrape.
    expect(readingCalls()).toBeGreaterThan(before);
    const atWrite = readingCalls();

    const text = renderer.render();
    expect(readingCalls()).toBe(atWrite);
    expect(renderer.stats).toMatchObject({ devices: 2, changed: 1, renderedAtScrape: 0 });
    expect(text).toContain('potencia_device_fan_speed_rpm{device="asic/10.0.1.15",rack="r12",room="",site="dal1",fan="2"} 7003\n');
    expect(text).not.toContain('5580');
    expect(byFamily(text)).toEqual(freshRender(store));

    // Closed (its server stopped): readings no longer cost a render.
    renderer.close();
    const closedAt = readingCalls();
    store.upsert(antminer({ uptime_s: 1 }));
    expect(readingCalls()).toBe(closedAt);
  });

  it('keeps a frozen page as it was while readings arrive, and renders them at the thaw', () => {
    const store = new DeviceStore();
    const renderer = new DeviceMetricsRenderer(store);
    store.upsert(antminer());
    const frozen = renderer.freeze();
    const views = segmentViews(frozen.segments);
    const page = Buffer.concat(views).toString('utf8');
    expect(Buffer.concat(views).length).toBe(frozen.length);
    // Lines that grow (more fans, longer values) would move the device's slots and compact the slabs.
    for (let round = 1; round <= 50; round++) store.upsert(antminer({ fans_rpm: Array.from({ length: 4 + round }, () => 100_000 + round), uptime_s: round }));
    store.upsert(downWhatsminer());
    expect(Buffer.concat(views).toString('utf8')).toBe(page);
    frozen.thaw();
    const after = renderer.render();
    expect(after).toContain('potencia_device_uptime_seconds{device="asic/10.0.1.15",rack="r12",room="",site="dal1"} 50\n');
    expect(after).toContain('fan="53"} 100050\n');
    expect(byFamily(after)).toEqual(freshRender(store));
    renderer.close();
  });

  it('renders every device itself at the first scrape when the store filled before the renderer existed', () => {
    const store = new DeviceStore();
    store.upsert(antminer());
    store.upsert(downWhatsminer());
    const renderer = new DeviceMetricsRenderer(store);
    const text = renderer.render();
    expect(renderer.stats).toMatchObject({ devices: 2, renderedAtScrape: 2 });
    expect(text).toContain('potencia_device_up{device="asic/10.0.2.7",rack="",room="hall \\"A\\"",site="dal1"} 0\n');
  });

  it('re-renders only economics lines when an assessment changes without a new reading', () => {
    const store = new DeviceStore();
    const economics = new Assessments();
    const { families, readingCalls } = countingFamilies();
    const renderer = new DeviceMetricsRenderer(store, families, () => economics);
    store.upsert(antminer());
    store.upsert(downWhatsminer());
    economics.round({ 'asic/10.0.1.15': 5, 'asic/10.0.2.7': -1 });
    const first = renderer.render();
    expect(first).toContain('potencia_device_margin_usd_per_day{device="asic/10.0.1.15",rack="r12",room="",site="dal1",activity="mining"} 5\n');

    const readingBefore = readingCalls();
    economics.round({ 'asic/10.0.1.15': 7.25, 'asic/10.0.2.7': -1 });
    const second = renderer.render();
    expect(readingCalls()).toBe(readingBefore);
    expect(renderer.stats).toMatchObject({ changed: 0, renderedAtScrape: 0, economicsAtScrape: 2 });
    expect(second).toContain('potencia_device_margin_usd_per_day{device="asic/10.0.1.15",rack="r12",room="",site="dal1",activity="mining"} 7.25\n');
    expect(second).not.toContain('activity="mining"} 5\n');
    const unchanged = (text: string) => samples(text).filter((l) => !/usd|recommendation/.test(l));
    expect(unchanged(second)).toEqual(unchanged(first));
    expect(byFamily(second)).toEqual(freshRender(store, economics));

    // A reading after a round picks up the new assessment on write; the scrape then has nothing left to render.
    economics.round({ 'asic/10.0.1.15': 9, 'asic/10.0.2.7': -1 });
    store.upsert(antminer({ uptime_s: 90_000 }));
    const third = renderer.render();
    expect(renderer.stats).toMatchObject({ changed: 1, renderedAtScrape: 0, economicsAtScrape: 1 });
    expect(third).toContain('activity="mining"} 9\n');

    // A round announced as it ends (as the economics part does) is rendered then: the scrape has nothing left.
    economics.round({ 'asic/10.0.1.15': 11, 'asic/10.0.2.7': -1 });
    renderer.refreshEconomics();
    const fourth = renderer.render();
    expect(renderer.stats).toMatchObject({ changed: 0, renderedAtScrape: 0, economicsAtScrape: 0 });
    expect(fourth).toContain('activity="mining"} 11\n');
    expect(byFamily(fourth)).toEqual(freshRender(store, economics));

    // The part stops: every economics series goes.
    let source: DeviceEconomicsSource | undefined = economics;
    const switchable = new DeviceMetricsRenderer(store, DEVICE_FAMILIES, () => source);
    expect(switchable.render()).toContain('potencia_device_recommendation');
    source = undefined;
    expect(switchable.render()).not.toMatch(/usd|recommendation/);
  });

  it('re-labels every series of every device, economics included, when a label name comes and goes across the fleet', () => {
    const store = new DeviceStore();
    const economics = new Assessments();
    const renderer = new DeviceMetricsRenderer(store, DEVICE_FAMILIES, () => economics);
    store.upsert(antminer());
    store.upsert(downWhatsminer());
    economics.round({ 'asic/10.0.1.15': 5, 'asic/10.0.2.7': 3 });
    renderer.render();

    store.upsert(antminer({ id: 'asic/10.0.9.9', labels: { site: 'dal1', row: '4' } }));
    const text = renderer.render();
    const lines = samples(text);
    expect(lines.some((l) => l.startsWith('potencia_device_recommendation{device="asic/10.0.2.7"'))).toBe(true);
    for (const line of lines) expect(line, line).toMatch(/^[a-z_]+\{device="[^"]+",rack="[^"]*",room="(?:[^"\\]|\\.)*",row="[^"]*",site="dal1"[,}]/);
    expect(text).toContain('potencia_device_up{device="asic/10.0.2.7",rack="",room="hall \\"A\\"",row="",site="dal1"} 0\n');
    expect(byFamily(text)).toEqual(freshRender(store, economics));

    store.remove('asic/10.0.9.9');
    const after = renderer.render();
    expect(after).not.toContain('row=');
    expect(renderer.operatorLabelNames).toEqual(['rack', 'room', 'site']);
    expect(byFamily(after)).toEqual(freshRender(store, economics));
  });

  it("drops a removed device's lines at once, and a device taking its place shows only its own", () => {
    const store = new DeviceStore();
    const economics = new Assessments();
    const renderer = new DeviceMetricsRenderer(store, DEVICE_FAMILIES, () => economics);
    store.upsert(antminer());
    store.upsert(downWhatsminer());
    economics.round({ 'asic/10.0.1.15': 5, 'asic/10.0.2.7': 3 });
    renderer.render();

    store.remove('asic/10.0.1.15');
    const after = renderer.render();
    expect(after).not.toContain('asic/10.0.1.15');
    expect(after).toContain('potencia_device_recommendation{device="asic/10.0.2.7"');

    // Fewer fans and boards than the device whose room it reuses: nothing of the old lines may show through.
    store.upsert(antminer({ id: 'asic/10.0.3.3', fans_rpm: [1], boards: [], temperatures_c: {} }));
    const reused = renderer.render();
    expect(reused).not.toContain('asic/10.0.1.15');
    expect(reused).toContain('potencia_device_fan_speed_rpm{device="asic/10.0.3.3",rack="r12",room="",site="dal1",fan="0"} 1\n');
    expect(reused).not.toContain('fan="1"');
    expect(byFamily(reused)).toEqual(freshRender(store, economics));
  });

  it('matches a fresh render through rounds of lines growing, shrinking, vanishing and devices coming and going', () => {
    const store = new DeviceStore();
    const renderer = new DeviceMetricsRenderer(store);
    const out = new TextBuffer();
    const device = (i: number, round: number): DeviceSnapshot =>
      antminer({
        id: `asic/10.0.${i >> 8}.${i & 255}`,
        labels: { site: 'dal1', rack: `r${i % 7}`, note: 'x'.repeat(round % 5) },
        fans_rpm: Array.from({ length: (i + round) % 4 }, (_, f) => 5000 + f * round),
        uptime_s: round * 10 ** ((i + round) % 9),
        efficiency_j_per_th: 20 + 1 / (1 + ((i * round) % 13)),
      });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 700; i++) if ((i + round) % 3 !== 0) store.upsert(device(i, round));
      for (let i = round; i < 700; i += 97) store.remove(`asic/10.0.${i >> 8}.${i & 255}`);
      out.reset();
      renderer.writeTo(out);
      expect(byFamily(out.toString()), `round ${round}`).toEqual(freshRender(store));
    }
    // Moved-out room is reclaimed: the cache stays within a small multiple of what it holds.
    expect(renderer.stats.cachedBytes).toBeLessThan(out.length * 4);
  });

  it('never serves a half-written device to scrapes that overlap with devices changing', async () => {
    const store = new DeviceStore();
    const polls = new PollStats();
    const metrics = new AgentMetrics({ polls, reloads: { succeeded: 0, failed: 0, lastSuccessAtMs: undefined } }, { version: 'test', processMetrics: false });
    const DEVICES = 40;
    let round = 0;
    // Every value of a device names the round it was read in; fan and board counts vary with it.
    const writeRound = () => {
      round++;
      for (let i = 0; i < DEVICES; i++) {
        store.upsert(
          antminer({
            id: `asic/10.1.0.${i}`,
            uptime_s: round,
            temperatures_c: { inlet: round },
            fans_rpm: Array.from({ length: 1 + (round % 4) }, () => 1000 + round),
            hashrate_hs: round * 1e12,
          }),
        );
      }
    };
    writeRound();
    const server = await startHttpServer({ host: '127.0.0.1', port: 0, store, exposition: new MetricsExposition({ store, metrics, polls }) });
    // Half the scrapes ask for gzip, which compresses straight from the slabs while the rounds go on.
    const scrape = (gzip: boolean) =>
      new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port: server.port, path: '/metrics', headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            expect(res.headers['content-encoding']).toBe(gzip ? 'gzip' : undefined);
            resolve((gzip ? gunzipSync(body) : body).toString('utf8'));
          });
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
    try {
      const bodies: string[] = [];
      let pending = 0;
      const scrapes: Promise<void>[] = [];
      for (let i = 0; i < 16; i++) {
        pending++;
        scrapes.push(
          scrape(i % 2 === 1).then((body) => {
            bodies.push(body);
            pending--;
          }),
        );
      }
      // A poll round every turn of the event loop for as long as any scrape is in flight.
      while (pending > 0) {
        writeRound();
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(scrapes);

      const roundsSeen = new Set<number>();
      for (const body of bodies) {
        for (let i = 0; i < DEVICES; i++) {
          const id = `asic/10.1.0.${i}`;
          const mine = samples(body).filter((l) => l.includes(`{device="${id}"`));
          const uptime = Number(/potencia_device_uptime_seconds\{[^}]*\} (\d+)/.exec(mine.join('\n'))?.[1]);
          roundsSeen.add(uptime);
          expect(mine.find((l) => l.includes('sensor="inlet"'))).toMatch(new RegExp(` ${uptime}$`));
          expect(mine.find((l) => l.startsWith('potencia_miner_hashrate_hashes_per_second'))).toMatch(new RegExp(` ${uptime}000000000000$`));
          const fans = mine.filter((l) => l.startsWith('potencia_device_fan_speed_rpm'));
          expect(fans).toHaveLength(1 + (uptime % 4));
          for (const fan of fans) expect(fan).toMatch(new RegExp(` ${1000 + uptime}$`));
        }
        byFamily(body);
      }
      // The scrapes really did overlap with changes.
      expect(roundsSeen.size).toBeGreaterThan(1);
    } finally {
      await server.close();
    }
  });
});
