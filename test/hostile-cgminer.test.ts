/**
 * Issue 13, findings 4, 5, 9 and 10 for CGMiner peers: each hostile peer is a real TCP server on
 * loopback (simulator/hostile.ts), read by the real collector, the real client and the scheduler's checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../agent/compose.js';
import { silentLogger } from '../agent/log.js';
import { PollStats } from '../agent/poll-stats.js';
import { DEFAULT_SNAPSHOT_LIMITS } from '../collectors/ranges.js';
import { collectOnce, Scheduler } from '../agent/scheduler.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { cgminerRequest, createCgminerCollector } from '../collectors/cgminer/index.js';
import type { Target } from '../collectors/contract.js';
import { configSchema } from '../config/schema.js';
import { startHostilePeer, type HostileKind, type HostilePeer } from '../simulator/hostile.js';
import { eventually } from './helpers.js';

const peers: HostilePeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

async function peer(kind: HostileKind): Promise<HostilePeer> {
  const p = await startHostilePeer(kind);
  peers.push(p);
  return p;
}

/** A cap an operator may configure: the default (1 MiB) refuses the 2 MB replies before the defences under test see them. */
const LARGE_CAP = { maxResponseBytes: 4 * 1024 * 1024 };

function targetOf(p: HostilePeer): Target {
  return { url: p.url, scheme: 'cgminer', host: p.host, port: p.port, labels: {}, intervalMs: 60_000, timeoutMs: 5_000 };
}

async function pollOnce(p: HostilePeer): Promise<DeviceSnapshot> {
  const [snapshot, ...rest] = await collectOnce(createCgminerCollector(targetOf(p), LARGE_CAP), new AbortController().signal);
  expect(rest).toEqual([]);
  return snapshot!;
}

/** One scheduled poll of the peer, its result and what the scheduler counted. */
async function scheduledPoll(p: HostilePeer): Promise<{ snapshots: DeviceSnapshot[]; stats: PollStats }> {
  const stats = new PollStats();
  let resolve!: (s: DeviceSnapshot[]) => void;
  const result = new Promise<DeviceSnapshot[]>((r) => (resolve = r));
  const scheduler = new Scheduler({
    concurrency: 1,
    jitterRatio: 0,
    backoffMaxMs: 60_000,
    wakeGridMs: 0,
    createCollector: (t) => createCgminerCollector(t, LARGE_CAP),
    onResult: (_t, snapshots) => resolve(snapshots),
    observer: stats,
  });
  scheduler.setTargets([targetOf(p)]);
  scheduler.start();
  const snapshots = await result;
  await scheduler.stop();
  return { snapshots, stats };
}

function rejected(stats: PollStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sample of stats.rejectedFamily().samples()) out[`${sample.labels!.field}/${sample.labels!.reason}`] = sample.value;
  return out;
}

describe('hostile CGMiner peers over loopback', () => {
  it('finding 9: 1e308 hashrates, 1e11 °C, a billion rpm and negative counts are absent and counted, never ±Inf', async () => {
    const { snapshots, stats } = await scheduledPoll(await peer('absurd_values'));
    const [s] = snapshots;
    expect(s!.up).toBe(true);
    expect(s!.hashrate_hs).toBeUndefined();
    expect(s!.accepted_shares).toBeUndefined();
    expect(s!.uptime_s).toBeUndefined();
    for (const value of Object.values(s!.temperatures_c)) expect(Math.abs(value)).toBeLessThanOrEqual(200);
    for (const rpm of s!.fans_rpm) expect(rpm).toBeGreaterThanOrEqual(0);
    for (const rpm of s!.fans_rpm) expect(rpm).toBeLessThanOrEqual(50_000);
    expect(JSON.stringify(s)).not.toMatch(/Infinity|1e\+308|-2147483648/);
    for (const board of s!.boards ?? []) expect(board.hashrate_hs ?? 0).toBeLessThanOrEqual(1e18);
    const counted = rejected(stats);
    expect(counted['hashrate_hs/out_of_range']).toBe(1);
    expect(counted['fans_rpm/out_of_range']).toBeGreaterThanOrEqual(1);
  });

  it('finding 9 end to end: the agent exports no ±Inf sample and counts what it left out on /metrics', async () => {
    const bad = await peer('absurd_values');
    const config = configSchema.parse({ agent: { listen: '127.0.0.1:0' }, polling: { interval: '1s', timeout: '900ms' }, targets: [{ url: bad.url }] });
    const agent = createAgent({ config, logger: silentLogger });
    await agent.start();
    try {
      const page = await eventually(async () => {
        const text = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
        return text.includes('potencia_values_rejected_total{field="hashrate_hs",reason="out_of_range"}') ? text : undefined;
      }, 'the rejected hashrate on /metrics');
      // Histogram buckets are labelled le="+Inf"; no sample's value may be.
      expect(page).not.toMatch(/ [+-]?Inf$|NaN$/m);
      expect(page).toContain(`potencia_device_up{device="asic/${bad.host}:${bad.port}"} 1`);
      expect(page).not.toContain(`potencia_miner_hashrate_hashes_per_second{device="asic/${bad.host}:${bad.port}"`);
      expect(page).toContain('# TYPE potencia_values_rejected_total counter');
    } finally {
      await agent.stop();
    }
  });

  it('finding 4: a join carrying 40,000 DEVS rows keeps 64 boards and counts the rest', async () => {
    const { snapshots, stats } = await scheduledPoll(await peer('many_devs'));
    const [s] = snapshots;
    expect(s!.up).toBe(true);
    expect(s!.boards).toHaveLength(DEFAULT_SNAPSHOT_LIMITS.boardsPerDevice);
    expect(Object.keys(s!.temperatures_c).length).toBeLessThanOrEqual(DEFAULT_SNAPSHOT_LIMITS.sensorsPerDevice);
    const counted = rejected(stats);
    expect(counted['boards/over_limit']).toBe(40_000 - 64);
    expect(counted['temperatures_c/over_limit']).toBeGreaterThan(0);
  });

  it.each([
    ['wrong_question', 'VERSION'],
    ['devs_to_all', 'DEVS'],
  ] as const)('finding 10: a peer answering every command with a %s reply is down (malformed), not up with no error', async (kind, section) => {
    const s = await pollOnce(await peer(kind));
    expect(s.up).toBe(false);
    expect(s.error_reason).toBe('malformed');
    expect(s.error).toContain(`the reply to "summary" carries ${section}, the answer to another command`);
  });

  it('finding 4: a reply over the size cap marks that one device down (too_large)', async () => {
    const s = await pollOnce(await peer('huge'));
    expect(s.up).toBe(false);
    expect(s.error_reason).toBe('too_large');
  });

  it('finding 5: a 2 MB reply in newline-ended pieces costs CPU linear in its size', async () => {
    const p = await peer('chunked');
    const before = process.cpuUsage();
    const text = await cgminerRequest({ host: p.host, port: p.port, command: 'summary', timeoutMs: 10_000, ...LARGE_CAP });
    const used = process.cpuUsage(before);
    expect(text.length).toBeGreaterThan(2_000_000);
    expect(JSON.parse(text).SUMMARY[0]['GHS 5s']).toBe('100000.0');
    // Peer and client together; re-scanning the reply at every piece took seconds.
    expect((used.user + used.system) / 1000).toBeLessThan(400);
  });
});
