import { describe, expect, it } from 'vitest';
import type { RejectReason } from '../collectors/contract.js';
import { DEFAULT_SNAPSHOT_LIMITS, MAX_TEXT_CHARS, saneSnapshot, saneSnapshots } from '../collectors/ranges.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';

function counter() {
  const counts: Record<string, number> = {};
  const sink = (field: string, reason: RejectReason, n = 1) => {
    counts[`${field}/${reason}`] = (counts[`${field}/${reason}`] ?? 0) + n;
  };
  return { counts, sink };
}

const base = (extra: Partial<DeviceSnapshot>): DeviceSnapshot => ({
  id: 'x',
  kind: 'asic',
  target: 'cgminer://h:4028',
  labels: {},
  up: true,
  observed_at: '2026-01-01T00:00:00.000Z',
  temperatures_c: {},
  fans_rpm: [],
  ...extra,
});

describe('saneSnapshot: values sane or absent', () => {
  it('leaves in-range readings untouched and counts nothing', () => {
    const { counts, sink } = counter();
    const reading = base({ hashrate_hs: 1.1e14, power_w: 3250, power_source: 'reported', temperatures_c: { chip: -5, pcb: 70 }, fans_rpm: [0, 6000], accepted_shares: 0 });
    expect(saneSnapshot(structuredClone(reading), DEFAULT_SNAPSHOT_LIMITS, sink)).toEqual(reading);
    expect(counts).toEqual({});
  });

  it('drops NaN, ±Inf, negative power and out-of-range numbers field by field, with the power source', () => {
    const { counts, sink } = counter();
    const s = saneSnapshot(
      base({
        hashrate_hs: Number.POSITIVE_INFINITY,
        power_w: -2_147_483_648,
        power_source: 'reported',
        power_by_source_w: { reported: -2_147_483_648 },
        temperatures_c: { chip: 99_999_999_999, inlet: -61, outlet: 30 },
        fans_rpm: [6000, 1e9, -5],
        uptime_s: Number.NaN,
        boards: [{ index: 0, status: 'ok', hashrate_hs: 1e19, chip_temperature_c: 201, chips: -1 }],
      }),
      DEFAULT_SNAPSHOT_LIMITS,
      sink,
    );
    expect(s).toEqual(base({ temperatures_c: { outlet: 30 }, fans_rpm: [6000], boards: [{ index: 0, status: 'ok' }] }));
    expect(counts).toEqual({
      'hashrate_hs/out_of_range': 1,
      'power_w/out_of_range': 1,
      'power_by_source_w/out_of_range': 1,
      'temperatures_c/out_of_range': 2,
      'fans_rpm/out_of_range': 2,
      'uptime_s/out_of_range': 1,
      'boards.hashrate_hs/out_of_range': 1,
      'boards.chip_temperature_c/out_of_range': 1,
      'boards.chips/out_of_range': 1,
    });
  });

  it('checks GPU ratios, host figures and storage volumes', () => {
    const { counts, sink } = counter();
    const s = saneSnapshot(
      base({
        kind: 'gpu',
        gpu: { index: 0, uuid: 'GPU-1', utilization_ratio: -0.5, fan_speed_ratio: 1, memory_used_bytes: 1e30 },
        host: {
          cpu_utilization_ratio: 1.5,
          load1: 2,
          storage: [
            { name: '/', total_bytes: 100, used_bytes: -1 },
            { name: '/data', total_bytes: 100, used_bytes: 50 },
          ],
        },
      }),
      DEFAULT_SNAPSHOT_LIMITS,
      sink,
    );
    expect(s.gpu).toEqual({ index: 0, uuid: 'GPU-1', fan_speed_ratio: 1 });
    expect(s.host).toEqual({ load1: 2, storage: [{ name: '/data', total_bytes: 100, used_bytes: 50 }] });
    expect(counts).toEqual({
      'gpu.utilization_ratio/out_of_range': 1,
      'gpu.memory_used_bytes/out_of_range': 1,
      'host.cpu_utilization_ratio/out_of_range': 1,
      'host.storage/out_of_range': 1,
    });
  });

  it('lets a PDU or meter carry a hall (up to 1e9 W) but no single miner past 1 MW', () => {
    const { sink } = counter();
    expect(saneSnapshot(base({ kind: 'pdu', power_w: 5e7 }), DEFAULT_SNAPSHOT_LIMITS, sink).power_w).toBe(5e7);
    expect(saneSnapshot(base({ kind: 'asic', power_w: 5e7 }), DEFAULT_SNAPSHOT_LIMITS, sink).power_w).toBeUndefined();
  });
});

describe('saneSnapshot: bounded per device and per target', () => {
  it('cuts lists to their caps and counts each item cut', () => {
    const { counts, sink } = counter();
    const limits = { ...DEFAULT_SNAPSHOT_LIMITS, boardsPerDevice: 2, fansPerDevice: 3, sensorsPerDevice: 2, poolsPerDevice: 1 };
    const s = saneSnapshot(
      base({
        boards: [0, 1, 2, 3].map((index) => ({ index, status: 'ok' as const })),
        fans_rpm: [1, 2, 3, 4, 5],
        temperatures_c: { a: 1, b: 2, c: 3 },
        pools: [{ url: 'a' }, { url: 'b' }],
      }),
      limits,
      sink,
    );
    expect(s.boards!.map((b) => b.index)).toEqual([0, 1]);
    expect(s.fans_rpm).toEqual([1, 2, 3]);
    expect(s.temperatures_c).toEqual({ a: 1, b: 2 });
    expect(s.pools).toEqual([{ url: 'a' }]);
    expect(counts).toEqual({ 'boards/over_limit': 2, 'fans_rpm/over_limit': 2, 'temperatures_c/over_limit': 1, 'pools/over_limit': 1 });
  });

  it('cuts text past MAX_TEXT_CHARS, marking the cut', () => {
    const { counts, sink } = counter();
    const s = saneSnapshot(base({ model: 'M'.repeat(4_000_000), pools: [{ url: `stratum+tcp://${'p'.repeat(1000)}` }] }), DEFAULT_SNAPSHOT_LIMITS, sink);
    expect(s.model).toHaveLength(MAX_TEXT_CHARS);
    expect(s.model!.endsWith('…')).toBe(true);
    expect(s.pools![0]!.url).toHaveLength(MAX_TEXT_CHARS);
    expect(counts).toEqual({ 'model/over_limit': 1, 'pools.url/over_limit': 1 });
  });

  it('keeps at most devicesPerTarget devices of one target', () => {
    const { counts, sink } = counter();
    const many = Array.from({ length: 70 }, (_, i) => base({ id: `gpu/n/${i}`, kind: 'gpu' }));
    expect(saneSnapshots(many, DEFAULT_SNAPSHOT_LIMITS, sink)).toHaveLength(64);
    expect(counts).toEqual({ 'devices/over_limit': 6 });
  });
});
