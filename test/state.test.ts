import { describe, expect, it } from 'vitest';
import type { DeviceChange } from '../agent/contracts/part.js';
import { DeviceStore } from '../agent/state.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function snapshot(id: string, over: Partial<DeviceSnapshot> = {}): DeviceSnapshot {
  return {
    id,
    kind: 'asic',
    target: `cgminer://${id}:4028`,
    labels: { site: 'dal1' },
    up: true,
    observed_at: new Date(T0).toISOString(),
    temperatures_c: {},
    fans_rpm: [],
    ...over,
  };
}

describe('DeviceStore', () => {
  it('keeps the latest snapshot per id, with its parsed time and a version that moves on every upsert', () => {
    const store = new DeviceStore();
    const first = store.upsert(snapshot('a', { hashrate_hs: 1 }));
    store.upsert(snapshot('b'));
    const second = store.upsert(snapshot('a', { hashrate_hs: 2, observed_at: new Date(T0 + 30_000).toISOString() }));

    expect(store.size).toBe(2);
    expect(store.get('a')?.hashrate_hs).toBe(2);
    expect(store.entry('a')?.observedAtMs).toBe(T0 + 30_000);
    expect(second.version).toBeGreaterThan(first.version);
    expect([...store.values()].map((s) => s.id)).toEqual(['a', 'b']);
    expect(store.get('nope')).toBeUndefined();
  });

  it('stores each reading as given, whatever text it shares with the one before', () => {
    // The store points unchanged strings at the previous reading's copies (a memory saving no test can
    // see); what must hold is that every reading reads back exactly as it was given.
    const store = new DeviceStore();
    const pools = (urls: string[], status = 'Alive') => urls.map((url) => ({ url, user: 'farm.a1', status }));
    store.upsert(snapshot('a', { firmware: 'fw 1', model: 'Antminer S19', error: 'board 2 dead', pools: pools(['stratum+tcp://a:3333', 'stratum+tcp://b:3333']) }));
    const next = snapshot('a', { firmware: 'fw 2', model: 'Antminer S19', pools: pools(['stratum+tcp://b:3333', 'stratum+tcp://a:3333', 'stratum+tcp://c:3333'], 'Dead') });
    const given = structuredClone(next);
    store.upsert(next);
    expect(store.get('a')).toEqual(given);
    expect(store.get('a')).not.toHaveProperty('error');
  });

  it('never reuses a version for a device that was removed and came back', () => {
    const store = new DeviceStore();
    const before = store.upsert(snapshot('a'));
    store.remove('a');
    const after = store.upsert(snapshot('a'));
    expect(after.version).not.toBe(before.version);
  });

  it('rejects an observed_at that is not a time, since such a device could never expire', () => {
    const store = new DeviceStore();
    expect(() => store.upsert(snapshot('a', { observed_at: 'yesterday' }))).toThrow(/observed_at "yesterday"/);
    expect(store.size).toBe(0);
  });

  it('expires devices not seen within maxAge and returns their ids', () => {
    const store = new DeviceStore();
    store.upsert(snapshot('old', { observed_at: new Date(T0 - 120_000).toISOString() }));
    store.upsert(snapshot('edge', { observed_at: new Date(T0 - 90_000).toISOString() }));
    store.upsert(snapshot('fresh', { observed_at: new Date(T0).toISOString() }));

    expect(store.expire(T0, 90_000)).toEqual(['old']);
    expect([...store.values()].map((s) => s.id)).toEqual(['edge', 'fresh']);
    expect(store.expire(T0 + 1, 90_000)).toEqual(['edge']);
  });

  it('removes every device of a target that left the config', () => {
    const store = new DeviceStore();
    store.upsert(snapshot('gpu0', { target: 'nvidia://node1' }));
    store.upsert(snapshot('gpu1', { target: 'nvidia://node1' }));
    store.upsert(snapshot('asic', { target: 'cgminer://10.0.0.1:4028' }));

    expect(store.removeTarget('nvidia://node1')).toEqual(['gpu0', 'gpu1']);
    expect(store.removeTarget('nvidia://node1')).toEqual([]);
    expect([...store.values()].map((s) => s.id)).toEqual(['asic']);
  });

  it('tells listeners about upserts and removals until they unsubscribe, and moves the generation each time', () => {
    const store = new DeviceStore();
    const seen: string[] = [];
    const unsubscribe = store.onChange((c: DeviceChange) => {
      seen.push(c.type === 'upsert' ? `upsert ${c.device.snapshot.id} prev=${c.previous !== undefined}` : `remove ${c.device.snapshot.id} ${c.reason}`);
    });
    const g0 = store.generation;
    store.upsert(snapshot('a'));
    store.upsert(snapshot('a'));
    store.expire(T0 + 1_000_000, 1);
    expect(store.generation).toBe(g0 + 3);
    unsubscribe();
    store.upsert(snapshot('b'));

    expect(seen).toEqual(['upsert a prev=false', 'upsert a prev=true', 'remove a expired']);
  });

  it('keeps recording when a listener throws, and reports the error', () => {
    const errors: unknown[] = [];
    const store = new DeviceStore({ onListenerError: (err) => errors.push(err) });
    const delivered: string[] = [];
    store.onChange(() => {
      throw new Error('consumer bug');
    });
    store.onChange((c) => delivered.push(c.device.snapshot.id));

    store.upsert(snapshot('a'));

    expect(store.get('a')).toBeDefined();
    expect(delivered).toEqual(['a']);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('consumer bug');
  });

  it('stays cheap at 50,000 devices', () => {
    const store = new DeviceStore();
    const at = new Date(T0).toISOString();
    const labels = { site: 'dal1' };
    for (let i = 0; i < 50_000; i++) store.upsert({ id: `asic/${i}`, kind: 'asic', target: 't', labels, up: true, observed_at: at, temperatures_c: {}, fans_rpm: [] });
    expect(store.size).toBe(50_000);
    expect(store.expire(T0, 60_000)).toEqual([]);
    expect(store.expire(T0 + 60_001, 60_000)).toHaveLength(50_000);
    expect(store.size).toBe(0);
  });
});
