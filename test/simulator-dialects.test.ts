/**
 * Every firmware dialect of the simulator, polled over real loopback TCP by the real collector: what
 * the snapshot says must be what the simulated miner reports (its ground truth), and each dialect's
 * wire faults (btminer's `\'` escape and refused joins, bosminer's newline, Avalon's bracketed strings)
 * must arrive as a real miner sends them.
 */
import { collectOnce } from '../agent/scheduler.js';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichSnapshot } from '../agent/enrich.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { createCgminerCollector } from '../collectors/cgminer/index.js';
import type { Target } from '../collectors/contract.js';
import { DEFAULT_MIX, startFarm, type Farm, type MinerSpec, type SimulatedMiner } from '../simulator/farm.js';

const T0 = Date.UTC(2025, 9, 2, 8, 30, 0);

const SPECS: { model: string; vendor: string; dialect: string; reports: RegExp }[] = [
  { model: 'Whatsminer M30S++', vendor: 'MicroBT', dialect: 'whatsminer', reports: /^20210322\.22\.REL$/ },
  { model: 'Whatsminer M50S', vendor: 'MicroBT', dialect: 'whatsminer', reports: /^20230803\.11\.REL$/ },
  { model: 'Whatsminer M60S', vendor: 'MicroBT', dialect: 'whatsminer', reports: /^20240624\.18\.REL$/ },
  { model: 'AvalonMiner A1366', vendor: 'Canaan', dialect: 'avalon', reports: /^23091101_/ },
  { model: 'AvalonMiner A1466', vendor: 'Canaan', dialect: 'avalon', reports: /^23091101_/ },
  { model: 'Antminer S19 Pro', reports: /^BOSminer bosminer-plus-tuner 0\.9\.0/, vendor: 'Bitmain', dialect: 'braiins' },
  { model: 'Antminer S21', reports: /^LuxOS 2025\.4\.8/, vendor: 'Bitmain', dialect: 'luxos' },
  { model: 'Antminer S19j Pro', reports: /^VNish 1\.2\.6$/, vendor: 'Bitmain', dialect: 'vnish' },
  { model: 'Antminer S19 XP', reports: /.+/, vendor: 'Bitmain', dialect: 'antminer' },
];
const FIRMWARE_OF: Record<string, MinerSpec['firmware']> = { braiins: 'braiins', luxos: 'luxos', vnish: 'vnish' };

function targetOf(m: SimulatedMiner): Target {
  return { url: m.url, scheme: 'cgminer', host: m.host, port: m.port, labels: {}, intervalMs: 30_000, timeoutMs: 3_000 };
}

async function poll(m: SimulatedMiner): Promise<DeviceSnapshot> {
  const [snapshot] = await collectOnce(createCgminerCollector(targetOf(m)), new AbortController().signal);
  return snapshot!;
}

/** The raw bytes of one reply, until the miner closes the connection. */
function raw(m: SimulatedMiner, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(m.port, m.host, () => socket.write(JSON.stringify({ command })));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('simulated firmware dialects polled by the collector', () => {
  const now = T0;
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({
      devices: SPECS.length,
      seed: 7,
      mode: 'port',
      port: 0,
      clock: () => now,
      failures: false,
      models: SPECS.map((s) => ({ model: s.model, firmware: FIRMWARE_OF[s.dialect] })),
    });
  });
  afterAll(() => farm.stop());

  it.each(SPECS.map((s, i) => [`${s.dialect} ${s.model}`, i] as const))('%s: identity, hashrate, power and boards match the ground truth', async (_name, i) => {
    const spec = SPECS[i]!;
    const miner = farm.miners[i]!;
    expect(miner.dialect).toBe(spec.dialect);
    const truth = farm.readingOf(i);
    const s = await poll(miner);
    expect(s.error, s.error).toBeUndefined();
    expect(s).toMatchObject({ up: true, dialect: spec.dialect, vendor: spec.vendor, model: spec.model });
    expect(s.firmware).toMatch(spec.reports);
    expect(s.uptime_s).toBe(truth.elapsedS);
    // Each firmware reports its own freshest window (5 s or 30 s); all of them are the miner's current rate.
    expect(s.hashrate_hs! / (truth.ghs5s * 1e9)).toBeCloseTo(1, 1);
    expect(s.accepted_shares).toBe(truth.accepted);
    expect(s.boards?.map((b) => [b.index, b.status])).toEqual(truth.boards.map((b) => [b.index, 'ok']));
    s.boards!.forEach((b, k) => {
      expect(b.hashrate_hs! / 1e9).toBeCloseTo(truth.boards[k]!.hashrateGhs, 0);
    });
    expect(s.fans_rpm).toEqual(truth.fansRpm);
    if (spec.dialect === 'antminer') {
      expect(s.power_by_source_w).toBeUndefined();
    } else {
      expect(s.power_by_source_w).toEqual({ reported: truth.powerW });
    }
  });

  it('a Whatsminer read the way `potencia poll` reads it: reported power and a J/TH', async () => {
    const i = SPECS.findIndex((s) => s.model === 'Whatsminer M50S');
    const s = enrichSnapshot(await poll(farm.miners[i]!));
    const truth = farm.readingOf(i);
    expect(s.power_source).toBe('reported');
    expect(s.power_w).toBe(truth.powerW);
    expect(s.efficiency_j_per_th).toBeCloseTo(truth.powerW / ((s.hashrate_hs ?? 0) / 1e12), 1);
    expect(s.efficiency_j_per_th).toBeGreaterThan(20);
    expect(s.efficiency_j_per_th).toBeLessThan(32);
    expect(s.power_limit_w).toBeGreaterThanOrEqual(3276);
    expect(s.mac).toMatch(/^C4:08:28:/);
  });

  it('speaks each firmware’s wire quirks', async () => {
    const m30 = farm.miners[0]!;
    const summary = await raw(m30, 'summary');
    expect(summary).toContain(`"Firmware Version":"\\'20210322.22.REL\\'"`);
    expect(summary.endsWith('\0')).toBe(true);
    const joined = await raw(m30, 'summary+stats+pools');
    expect(JSON.parse(joined.slice(0, -1))).toMatchObject({ STATUS: 'E', Code: 14, Msg: 'invalid cmd' });

    const bos = farm.miners[SPECS.findIndex((s) => s.dialect === 'braiins')]!;
    const bosReply = await raw(bos, 'temps');
    expect(bosReply.endsWith('}\n')).toBe(true);
    expect(bosReply).not.toContain('\0');

    const avalon = farm.miners[SPECS.findIndex((s) => s.dialect === 'avalon')]!;
    const estats = JSON.parse((await raw(avalon, 'estats')).slice(0, -1));
    expect(estats.STATS[0]['MM ID0']).toMatch(/SYSTEMSTATU\[Work: In Work, Hash Board: 3 \] .* PS\[0 \d+ \d+ \d+ \d+ \d+ \d+\]/);
  });

  it('reports a failed board of each firmware as dead, naming it', async () => {
    for (const dialect of ['whatsminer', 'avalon', 'braiins', 'luxos', 'vnish']) {
      const i = SPECS.findIndex((s) => s.dialect === dialect);
      farm.breakBoard(i, 1);
      const s = await poll(farm.miners[i]!);
      expect(s.up, dialect).toBe(true);
      expect(s.boards?.find((b) => b.index === 1)?.status, dialect).toBe('dead');
      expect(
        s.boards?.filter((b) => b.status === 'ok'),
        dialect,
      ).toHaveLength(2);
      expect(s.error, dialect).toMatch(/board 2 of 3 dead/);
      await farm.revive(i);
    }
  });

  it('a dead miner of any firmware is down with the reason', async () => {
    const i = SPECS.findIndex((s) => s.dialect === 'whatsminer');
    await farm.kill(i);
    const s = await poll(farm.miners[i]!);
    expect(s).toMatchObject({ up: false, error_reason: 'refused' });
    await farm.revive(i);
  });
});

describe('the default farm mix', () => {
  it('is mostly stock Antminers, with Whatsminer, Avalon and aftermarket firmware that report power', async () => {
    const total = DEFAULT_MIX.reduce((a, m) => a + m.weight, 0);
    const share = (pred: (m: (typeof DEFAULT_MIX)[number]) => boolean) => DEFAULT_MIX.filter(pred).reduce((a, m) => a + m.weight, 0) / total;
    expect(share((m) => m.model.startsWith('Antminer') && !m.firmware)).toBeGreaterThan(0.5);
    for (const model of ['Whatsminer M30S++', 'Whatsminer M50S', 'Whatsminer M60S', 'AvalonMiner A1366', 'AvalonMiner A1466']) {
      expect(DEFAULT_MIX.some((m) => m.model === model)).toBe(true);
    }
    for (const firmware of ['braiins', 'luxos', 'vnish'] as const) expect(DEFAULT_MIX.some((m) => m.firmware === firmware)).toBe(true);

    const farm = await startFarm({ devices: 200, seed: 3, mode: 'port', port: 0, clock: () => T0 });
    try {
      const dialects = new Set(farm.miners.map((m) => m.dialect));
      expect([...dialects].sort()).toEqual(['antminer', 'avalon', 'braiins', 'luxos', 'vnish', 'whatsminer']);
    } finally {
      await farm.stop();
    }
  });
});
