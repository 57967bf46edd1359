import { gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PollStats } from '../agent/poll-stats.js';
import { DeviceStore } from '../agent/state.js';
import { MetricsExposition } from '../exporters/prometheus/exposition.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { type PageSegment, segmentViews } from '../exporters/prometheus/page-segment.js';
import { DeflateCache } from '../exporters/prometheus/parallel-gzip.js';
import { DeviceMetricsRenderer } from '../exporters/prometheus/renderer.js';
import { SLOTS_PER_BLOCK } from '../exporters/prometheus/slab.js';
import { antminer } from './fixtures/prometheus/snapshots.js';

/** Exposition-like lines, `bytes` of them, varied by `seed`. */
function lines(bytes: number, seed: number): Buffer {
  const out: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `potencia_device_uptime_seconds{device="asic/10.${seed}.${(i >> 8) & 255}.${i & 255}",site="dal1"} ${seed * 1000 + (i % 97)}\n`;
    out.push(line);
    length += line.length;
  }
  return Buffer.from(out.join(''));
}

const owned = (owner: object, index: number, version: number, bytes: Buffer): PageSegment => ({ views: [bytes], length: bytes.length, identity: { owner, index, version } });
const text = (segments: readonly PageSegment[]) => Buffer.concat(segmentViews(segments));

describe('a gzip page that reuses the deflate data of unchanged stretches', () => {
  it('compresses again only the segments whose version moved, once a page has shown which ones move', async () => {
    const slab = {};
    const other = {};
    const blocks = [lines(600_000, 1), lines(700_000, 2), lines(500_000, 3)];
    const page = (middle: Buffer, version: number, tail: Buffer) => [
      owned(slab, 0, 1, blocks[0]!),
      owned(slab, 1, version, middle),
      owned(other, 0, 7, blocks[2]!),
      { views: [tail], length: tail.length },
    ];
    const cache = new DeflateCache();
    const check = async (segments: PageSegment[]) => {
      const gz = await cache.gzip(segments);
      const expected = text(segments);
      expect(gunzipSync(gz).equals(expected)).toBe(true);
      // One gzip member whose deflate data, CRC-32 and length cover the whole page.
      expect(inflateRawSync(gz.subarray(10, gz.length - 8)).equals(expected)).toBe(true);
      expect(gz.readUInt32LE(gz.length - 4)).toBe(expected.length);
      return cache.lastPage;
    };
    expect((await check(page(blocks[1]!, 1, lines(300_000, 4)))).reusedBytes).toBe(0);
    // The first page compressed the three blocks as one run; the middle one moved, so that run is not
    // reused, and the blocks are compressed again in runs of those that moved and those that did not.
    expect((await check(page(lines(700_000, 5), 2, lines(250_000, 6)))).reusedBytes).toBe(0);
    // From then on, the still blocks are reused while the middle one keeps moving.
    const changed = lines(690_000, 7);
    const tail = lines(250_000, 8);
    expect(await check(page(changed, 3, tail))).toEqual({ reusedBytes: blocks[0]!.length + blocks[2]!.length, compressedBytes: changed.length + tail.length });
    expect((await check(page(lines(710_000, 9), 4, tail))).reusedBytes).toBe(blocks[0]!.length + blocks[2]!.length);
  });

  it('compresses only the block that moved when the moves come round block after block, as polls in page order do', async () => {
    const slab = {};
    const blocks = Array.from({ length: 6 }, (_, b) => lines(300_000, 100 + b));
    const versions = [0, 0, 0, 0, 0, 0];
    const cache = new DeflateCache();
    /** Bytes compressed beyond the block that moved, per page. */
    const beyondMoved: number[] = [];
    for (let page = 1; page <= 14; page++) {
      const moved = page % blocks.length;
      blocks[moved] = lines(300_000, 200 + page);
      versions[moved]!++;
      const segments = blocks.map((bytes, b) => owned(slab, b, versions[b]!, bytes));
      expect(gunzipSync(await cache.gzip(segments)).equals(text(segments))).toBe(true);
      beyondMoved.push(cache.lastPage.compressedBytes - blocks[moved]!.length);
    }
    // The first page is one run; the second breaks it into a run per block; from then on only the moved block is compressed.
    expect(beyondMoved.slice(2)).toEqual(Array.from({ length: 12 }, () => 0));
    expect(beyondMoved[1]).toBeGreaterThan(0);
  });

  it('keeps only the last page: a stretch that left and came back is compressed anew', async () => {
    const owner = {};
    const a = lines(1_200_000, 1);
    const b = lines(400_000, 2);
    const cache = new DeflateCache();
    await cache.gzip([owned(owner, 0, 1, a), owned(owner, 1, 1, b)]);
    await cache.gzip([owned(owner, 0, 1, a)]);
    await cache.gzip([owned(owner, 0, 1, a)]);
    expect(cache.lastPage.reusedBytes).toBe(a.length);
    const back = [owned(owner, 0, 1, a), owned(owner, 1, 1, b)];
    const page = await cache.gzip(back);
    expect(cache.lastPage).toEqual({ reusedBytes: a.length, compressedBytes: b.length });
    expect(gunzipSync(page).equals(text(back))).toBe(true);
  });

  it('compresses a page below a megabyte in one piece, reusing nothing', async () => {
    const owner = {};
    const small = [owned(owner, 0, 1, lines(20_000, 1)), owned(owner, 1, 1, lines(30_000, 2))];
    const cache = new DeflateCache();
    for (let i = 0; i < 2; i++) {
      expect(gunzipSync(await cache.gzip(small)).equals(text(small))).toBe(true);
      expect(cache.lastPage.reusedBytes).toBe(0);
    }
    expect(gunzipSync(await cache.gzip([])).length).toBe(0);
  });
});

describe('block versions of the renderer slabs', () => {
  it('move for a block whose lines changed and stay for one whose lines were rendered again unchanged', () => {
    const store = new DeviceStore();
    const renderer = new DeviceMetricsRenderer(store);
    // Two blocks of slots: the first SLOTS_PER_BLOCK devices, then one more.
    for (let i = 0; i <= SLOTS_PER_BLOCK; i++) store.upsert(antminer({ id: `asic/10.0.${i >> 8}.${i & 255}`, uptime_s: 1 }));
    const versions = () => {
      const frozen = renderer.freeze();
      frozen.thaw();
      const byFamily = new Map<string, number[]>();
      for (const segment of frozen.segments) {
        const family = /# TYPE (\S+)/.exec(segment.views[0]!.toString('utf8'));
        if (family) byFamily.set(family[1]!, []);
        else [...byFamily.values()].at(-1)!.push(segment.identity!.version);
      }
      return byFamily;
    };
    const before = versions();
    expect(before.get('potencia_device_uptime_seconds')).toHaveLength(2);
    // The last device, in the second block, is read again: only its uptime moved.
    store.upsert(antminer({ id: `asic/10.0.${SLOTS_PER_BLOCK >> 8}.${SLOTS_PER_BLOCK & 255}`, uptime_s: 2 }));
    const after = versions();
    const [uptimeFirst, uptimeSecond] = after.get('potencia_device_uptime_seconds')!;
    expect(uptimeFirst).toBe(before.get('potencia_device_uptime_seconds')![0]);
    expect(uptimeSecond).not.toBe(before.get('potencia_device_uptime_seconds')![1]);
    expect(after.get('potencia_device_info')).toEqual(before.get('potencia_device_info'));
    expect(after.get('potencia_miner_board_status')).toEqual(before.get('potencia_miner_board_status'));
  });

  it('serves a gzip page of thousands of devices that matches the plain page after devices change', async () => {
    const store = new DeviceStore();
    const polls = new PollStats();
    const metrics = new AgentMetrics({ polls, reloads: { succeeded: 0, failed: 0, lastSuccessAtMs: undefined } }, { version: 'test', processMetrics: false });
    const exposition = new MetricsExposition({ store, metrics, polls });
    const device = (i: number, round: number) =>
      antminer({ id: `asic/10.1.${i >> 8}.${i & 255}`, uptime_s: round, fans_rpm: Array.from({ length: 1 + ((i + round) % 3) }, () => 5000 + round) });
    const DEVICES = SLOTS_PER_BLOCK + 500;
    for (let i = 0; i < DEVICES; i++) store.upsert(device(i, 0));
    const cache = new DeflateCache();
    for (let round = 1; round <= 6; round++) {
      // A few devices in the second block of slots change; in the first rounds one leaves and one joins (taking its slot).
      for (let i = 0; i < 20; i++) store.upsert(device(SLOTS_PER_BLOCK + i * 7, round));
      if (round <= 4) {
        const leaving = SLOTS_PER_BLOCK + round * 11;
        store.remove(`asic/10.1.${leaving >> 8}.${leaving & 255}`);
        store.upsert(device(DEVICES + round, round));
      }
      const page = await exposition.renderSegments();
      let body: Buffer;
      try {
        body = await cache.gzip(page.segments);
      } finally {
        page.release();
      }
      expect(gunzipSync(body).toString('utf8')).toBe(await exposition.renderText());
      // Once a page has shown which blocks move, the first block (the most of the page) is not compressed again.
      if (round > 2) expect(cache.lastPage.reusedBytes).toBeGreaterThan(cache.lastPage.compressedBytes);
    }
  });
});
