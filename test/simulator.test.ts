import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startFarm } from '../simulator/farm.js';
import type { Farm, SimulatedMiner } from '../simulator/farm.js';
import { drawTraits } from '../simulator/physics.js';
import { findModel } from '../agent/catalog.js';
import { freeLoopbackBlock, sharedFixtures } from './helpers.js';

const fieldDir = sharedFixtures('cgminer/field');

const T0 = Date.UTC(2025, 7, 19, 14, 54, 55);

/** Sends one request and collects the reply until the miner closes the connection. */
function ask(miner: Pick<SimulatedMiner, 'host' | 'port'>, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(miner.port, miner.host);
    let reply = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

const command = (c: string) => JSON.stringify({ command: c });

/** Parses a reply the way a collector must: strip the NUL, repair bmminer's `}{`. */
function parseRepaired(reply: string): any {
  expect(reply.endsWith('\0')).toBe(true);
  return JSON.parse(reply.slice(0, -1).replace(/\}\{/g, '},{'));
}

describe('simulated farm over TCP', () => {
  let now = T0;
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({
      devices: 4,
      seed: 42,
      host: (await freeLoopbackBlock()).host(1),
      port: 0,
      models: ['Antminer S19 Pro', 'Antminer S9', 'Antminer S21', 'Antminer S19j Pro'],
      clock: () => now,
      failures: false,
    });
  });
  afterAll(() => farm.stop());

  it('gives each miner its own loopback address and a cgminer URL', () => {
    const net = farm.miners[0]!.host.replace(/\.1$/, '');
    expect(farm.miners.map((m) => m.host)).toEqual([`${net}.1`, `${net}.2`, `${net}.3`, `${net}.4`]);
    for (const m of farm.miners) expect(m.url).toBe(`cgminer://${m.host}:${m.port}`);
    expect(farm.miners.map((m) => m.model.model)).toEqual(['Antminer S19 Pro', 'Antminer S9', 'Antminer S21', 'Antminer S19j Pro']);
  });

  it('answers summary+stats+pools as Bitmain firmware does: joined reply, `}{` in stats, one trailing NUL', async () => {
    const reply = await ask(farm.miners[0]!, command('summary+stats+pools'));
    expect(reply.indexOf('\0')).toBe(reply.length - 1);
    expect(reply).toContain('"Type":"Antminer S19 Pro"}{"STATS":0,"ID":"BTM_SOC0"');
    expect(() => JSON.parse(reply.slice(0, -1))).toThrow();
    const parsed = parseRepaired(reply);
    expect(Object.keys(parsed)).toEqual(['summary', 'stats', 'pools', 'id']);
    expect(parsed.id).toBe(1);
    for (const key of ['summary', 'stats', 'pools']) {
      expect(parsed[key]).toHaveLength(1);
      expect(parsed[key][0].STATUS[0]).toMatchObject({ STATUS: 'S', When: Math.floor(T0 / 1000), Description: 'cgminer 1.0.0' });
    }
    const summary = parsed.summary[0].SUMMARY[0];
    expect(typeof summary['GHS 5s']).toBe('number');
    expect(summary['GHS 5s']).toBeGreaterThan(110_000 * 0.9);
    expect(summary['GHS 5s']).toBeLessThan(110_000 * 1.04);
    const stats = parsed.stats[0].STATS[1];
    expect([stats.chain_acn1, stats.chain_acn2, stats.chain_acn3, stats.chain_acn4]).toEqual([114, 114, 114, 0]);
    expect(stats.total_rateideal).toBe(110000);
    for (const b of [1, 2, 3]) {
      const chips = (stats[`temp_chip${b}`] as string).split('-').map(Number);
      const pcb = (stats[`temp_pcb${b}`] as string).split('-').map(Number);
      expect(Math.max(...chips)).toBeGreaterThanOrEqual(60);
      expect(Math.max(...chips)).toBeLessThanOrEqual(82);
      expect(Math.max(...chips) - Math.max(...pcb)).toBe(15);
    }
    for (const f of [1, 2, 3, 4]) {
      expect(stats[`fan${f}`]).toBeGreaterThanOrEqual(3000);
      expect(stats[`fan${f}`]).toBeLessThanOrEqual(6600);
    }
    expect(parsed.pools[0].POOLS[0]).toMatchObject({ POOL: 0, Status: 'Alive', 'Stratum Active': true, Accepted: summary.Accepted });
  });

  it('speaks the S9 dialect to an S9: bmminer strings, 16 slots, boards on chains 6-8', async () => {
    const reply = await ask(farm.miners[1]!, command('stats'));
    expect(reply).toContain('"Type":"Antminer S9"}{"STATS":0,"ID":"BC50"');
    const stats = parseRepaired(reply);
    expect(stats.STATUS[0]).toMatchObject({ Msg: 'BMMiner stats', Description: 'bmminer 1.0.0' });
    const body = stats.STATS[1];
    expect(typeof body['GHS 5s']).toBe('string');
    expect([body.chain_acn6, body.chain_acn7, body.chain_acn8, body.chain_acn1]).toEqual([63, 63, 63, 0]);
    expect(reply).toMatch(/"Wait":0\.000000,"Max":0\.000000,"Min":99999999\.000000/);
  });

  it('answers version, devs and pools alone', async () => {
    const version = parseRepaired(await ask(farm.miners[2]!, command('version')));
    expect(version.VERSION[0]).toMatchObject({ BMMiner: '1.0.0', API: '3.1', Type: 'Antminer S21' });
    expect(findModel(version.VERSION[0].Type)?.model).toBe('Antminer S21');
    const devs = parseRepaired(await ask(farm.miners[2]!, command('devs')));
    expect(devs.DEVS[0]).toMatchObject({ ASC: 0, Name: 'BTM_SOC', 'MHS 5s': 0 });
    expect(devs.DEVS[0]).toHaveProperty('Tenperature');
    const pools = parseRepaired(await ask(farm.miners[2]!, command('pools')));
    expect(pools.STATUS[0].Msg).toBe('3 Pool(s)');
    expect(pools.POOLS.map((p: any) => p.POOL)).toEqual([0, 1, 2]);
  });

  it('rejects unknown commands exactly as cgminer 4.11 does, alone and inside a joined command', async () => {
    const when = Math.floor(T0 / 1000);
    expect(await ask(farm.miners[0]!, command('bogus'))).toBe(`{"STATUS":[{"STATUS":"E","When":${when},"Code":14,"Msg":"Invalid command"}],"id":1}\0`);
    const joined = parseRepaired(await ask(farm.miners[0]!, command('version+bogus')));
    expect(joined.bogus).toEqual([{ STATUS: [{ STATUS: 'E', When: when, Code: 14, Msg: 'Invalid command' }], id: 1 }]);
    expect(joined.version[0].VERSION[0].Type).toBe('Antminer S19 Pro');
    expect(parseRepaired(await ask(farm.miners[0]!, '{"parameter":1}')).STATUS[0]).toMatchObject({ STATUS: 'E', Code: 24 });
    expect(parseRepaired(await ask(farm.miners[0]!, 'not json')).STATUS[0]).toMatchObject({ STATUS: 'E', Code: 23, Msg: 'Invalid JSON' });
  });

  it('varies readings with the clock and counts shares upward', async () => {
    now = T0;
    const before = parseRepaired(await ask(farm.miners[0]!, command('summary'))).SUMMARY[0];
    now = T0 + 3_600_000;
    const after = parseRepaired(await ask(farm.miners[0]!, command('summary'))).SUMMARY[0];
    now = T0;
    expect(after.Elapsed - before.Elapsed).toBe(3600);
    expect(after['GHS 5s']).not.toBe(before['GHS 5s']);
    expect(after.Accepted).toBeGreaterThan(before.Accepted);
    expect(after['Hardware Errors']).toBeGreaterThanOrEqual(before['Hardware Errors']);
    expect(after['Difficulty Accepted']).toBeGreaterThan(before['Difficulty Accepted']);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const clock = () => T0;
    const same = await startFarm({ devices: 1, seed: 42, host: (await freeLoopbackBlock()).host(1), port: 0, models: ['Antminer S19 Pro'], clock, failures: false });
    const other = await startFarm({ devices: 1, seed: 43, host: (await freeLoopbackBlock()).host(1), port: 0, models: ['Antminer S19 Pro'], clock, failures: false });
    try {
      const request = command('summary+stats+pools');
      const mine = await ask(farm.miners[0]!, request);
      expect(await ask(same.miners[0]!, request)).toBe(mine);
      expect(await ask(other.miners[0]!, request)).not.toBe(mine);
    } finally {
      await Promise.all([same.stop(), other.stop()]);
    }
  });

  it('kill refuses connections until revive', async () => {
    await farm.kill(3);
    await expect(ask(farm.miners[3]!, command('version'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await farm.revive(3);
    expect(parseRepaired(await ask(farm.miners[3]!, command('version'))).VERSION[0].Type).toBe('Antminer S19j Pro');
  });

  it('hang accepts the connection and never replies', async () => {
    farm.hang(3);
    const outcome = await new Promise<{ connected: boolean; bytes: number; timedOut: boolean }>((resolve) => {
      const socket = net.connect(farm.miners[3]!.port, farm.miners[3]!.host);
      let connected = false;
      let bytes = 0;
      socket.on('connect', () => {
        connected = true;
        socket.write(command('summary'));
      });
      socket.on('data', (d) => (bytes += d.length));
      socket.setTimeout(150, () => {
        socket.destroy();
        resolve({ connected, bytes, timedOut: true });
      });
      socket.on('end', () => resolve({ connected, bytes, timedOut: false }));
    });
    expect(outcome).toEqual({ connected: true, bytes: 0, timedOut: true });
    await farm.revive(3);
    expect(await ask(farm.miners[3]!, command('version'))).toContain('Antminer S19j Pro');
  });

  it('breakBoard takes one board to 0 chips and 0 hashrate, as a missing chain reads on an S19', async () => {
    const healthy = parseRepaired(await ask(farm.miners[0]!, command('stats'))).STATS[1];
    farm.breakBoard(0, 1);
    try {
      const stats = parseRepaired(await ask(farm.miners[0]!, command('stats'))).STATS[1];
      expect([stats.chain_acn1, stats.chain_acn2, stats.chain_acn3]).toEqual([114, 0, 114]);
      expect(stats.chain_rate2).toBe('');
      expect(stats.chain_acs2).toBe('');
      expect(stats.temp_pcb2).toBe('0-0-0-0');
      expect(stats.miner_count).toBe(2);
      expect(stats).not.toHaveProperty('temp2_2');
      expect(stats['GHS 5s']).toBeLessThan(healthy['GHS 5s'] * 0.7);
      expect(farm.readingOf(0).boards[1]).toMatchObject({ alive: false, chips: 0, hashrateGhs: 0 });
      expect(() => farm.breakBoard(0, 3)).toThrow(/no board 3/);
    } finally {
      await farm.revive(0);
    }
    expect(parseRepaired(await ask(farm.miners[0]!, command('stats'))).STATS[1].chain_acn2).toBe(114);
  });

  it('setMalformed cuts replies short so they cannot be parsed, even after the `}{` repair', async () => {
    farm.setMalformed(2, true);
    const reply = await ask(farm.miners[2]!, command('summary+stats'));
    farm.setMalformed(2, false);
    expect(reply.endsWith('\0')).toBe(true);
    expect(() => JSON.parse(reply.slice(0, -1).replace(/\}\{/g, '},{'))).toThrow();
    expect(parseRepaired(await ask(farm.miners[2]!, command('summary+stats'))).summary).toHaveLength(1);
  });
});

describe.skipIf(!fieldDir)('simulated replies against real captures', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({
      devices: 2,
      seed: 5,
      host: (await freeLoopbackBlock()).host(1),
      port: 0,
      models: ['Antminer S19 Pro', 'Antminer S9'],
      clock: () => T0,
      failures: false,
    });
  });
  afterAll(() => farm.stop());

  const capture = (file: string) => parseRepaired(`${readFileSync(path.join(fieldDir!, file), 'latin1')}\0`);
  /** key → JSON type, for comparing layouts without comparing values. */
  const shape = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v]));

  it('S19 Pro stats and summary have the keys and value types of the real S19 Pro', async () => {
    const real = capture('antminer-stock_S19Pro_stats_2025.json');
    const ours = parseRepaired(await ask(farm.miners[0]!, command('stats')));
    expect(shape(ours.STATS[0])).toEqual(shape(real.STATS[0]));
    expect(Object.keys(ours.STATS[1])).toEqual(Object.keys(real.STATS[1]));
    expect(shape(ours.STATS[1])).toEqual(shape(real.STATS[1]));
    const realSummary = capture('antminer-stock_S19Pro_summary_2025.json');
    const summary = parseRepaired(await ask(farm.miners[0]!, command('summary')));
    expect(Object.keys(summary.SUMMARY[0])).toEqual(Object.keys(realSummary.SUMMARY[0]));
    expect(shape(summary.SUMMARY[0])).toEqual(shape(realSummary.SUMMARY[0]));
    expect(summary.STATUS[0]).toMatchObject({ ...realSummary.STATUS[0], When: Math.floor(T0 / 1000) });
    const realVersion = capture('antminer-stock_S19Pro_version.json');
    const version = parseRepaired(await ask(farm.miners[0]!, command('version')));
    expect(Object.keys(version.VERSION[0])).toEqual(Object.keys(realVersion.VERSION[0]));
    expect(version.STATUS[0].Msg).toBe(realVersion.STATUS[0].Msg);
  });

  it('S9 stats have the keys and value types of the real S9 (bmminer 2.0.0)', async () => {
    const real = capture('antminer-stock_S9-V1.3.58_stats.txt');
    const ours = parseRepaired(await ask(farm.miners[1]!, command('stats')));
    expect(ours.STATUS[0]).toMatchObject({ Msg: real.STATUS[0].Msg, Description: real.STATUS[0].Description, Code: 70 });
    expect(Object.keys(ours.STATS[1])).toEqual(Object.keys(real.STATS[1]));
    expect(shape(ours.STATS[1])).toEqual(shape(real.STATS[1]));
  });

  it('pools have the keys and value types of the real Bitmain pools reply', async () => {
    const real = capture('antminer-stock_S17Pro_pools.json');
    const ours = parseRepaired(await ask(farm.miners[0]!, command('pools')));
    expect(Object.keys(ours.POOLS[0])).toEqual(Object.keys(real.POOLS[0]));
    expect(shape(ours.POOLS[0])).toEqual(shape(real.POOLS[0]));
  });
});

describe('farm scale and seed-chosen faults', () => {
  it('starts 200 miners in address mode and every one answers', async () => {
    const block = await freeLoopbackBlock();
    const farm = await startFarm({ devices: 200, seed: 9, host: block.host(1), port: 0, failures: false });
    try {
      expect(farm.miners.at(-1)!.host).toBe(block.host(200));
      const replies: string[] = [];
      for (let i = 0; i < farm.miners.length; i += 50) {
        replies.push(...(await Promise.all(farm.miners.slice(i, i + 50).map((m) => ask(m, command('summary'))))));
      }
      // Every firmware answers summary: NUL-terminated, bosminer newline-terminated.
      const summaries = replies.map((r, i) => {
        expect(r.endsWith(farm.miners[i]!.dialect === 'braiins' ? '}\n' : '}\0'), farm.miners[i]!.dialect).toBe(true);
        return JSON.parse(r.slice(0, -1).replace(/\\'/g, "'"));
      });
      expect(summaries).toHaveLength(200);
      for (const s of summaries) expect(s.SUMMARY[0].Elapsed).toBeGreaterThan(0);
      // The default mix really is a mix, of models and of firmware.
      expect(new Set(farm.miners.map((m) => m.model.model)).size).toBeGreaterThanOrEqual(8);
      expect(new Set(farm.miners.map((m) => m.dialect)).size).toBeGreaterThanOrEqual(5);
    } finally {
      await farm.stop();
    }
  });

  it('draws ~0.5% dead miners and ~1.5% failed boards from the seed, deterministically', () => {
    const model = findModel('Antminer S19 Pro')!;
    const draw = (seed: number) => Array.from({ length: 10_000 }, (_, index) => drawTraits({ seed, index, model, failures: true }));
    const a = draw(1);
    const dead = a.filter((t) => t.dead).length / a.length;
    const failedBoard = a.filter((t) => t.failedBoard >= 0).length / a.length;
    expect(dead).toBeGreaterThan(0.003);
    expect(dead).toBeLessThan(0.008);
    expect(failedBoard).toBeGreaterThan(0.01);
    expect(failedBoard).toBeLessThan(0.02);
    const fingerprint = (traits: typeof a) => traits.map((t) => `${t.dead}/${t.failedBoard}/${t.derate}/${t.rebootPhaseS}`);
    expect(fingerprint(draw(1))).toEqual(fingerprint(a));
    expect(draw(2).map((t) => t.dead)).not.toEqual(a.map((t) => t.dead));
    const weak = a.filter((t) => t.derate < 0.98).length / a.length;
    expect(weak).toBeGreaterThan(0.1);
    expect(weak).toBeLessThan(0.2);
    expect(a.every((t) => !drawTraits({ seed: 1, index: t.index, model, failures: false }).dead)).toBe(true);
  });

  it('a seed-dead miner refuses connections and its failed-board neighbours read degraded', async () => {
    const model = findModel('Antminer S19 Pro')!;
    const firstDead = Array.from({ length: 5000 }, (_, index) => drawTraits({ seed: 3, index, model, failures: true })).findIndex((t) => t.dead);
    expect(firstDead).toBeGreaterThanOrEqual(0);
    const farm = await startFarm({ devices: firstDead + 1, seed: 3, host: (await freeLoopbackBlock()).host(1), port: 0, models: ['Antminer S19 Pro'], clock: () => T0 });
    try {
      const faults = farm.faults();
      expect(faults.dead).toContain(firstDead);
      await expect(ask(farm.miners[firstDead]!, command('version'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      for (const { index, board } of faults.failedBoards) {
        const stats = parseRepaired(await ask(farm.miners[index]!, command('stats'))).STATS[1];
        expect(stats[`chain_acn${board + 1}`]).toBe(0);
      }
      await farm.revive(firstDead);
      expect(await ask(farm.miners[firstDead]!, command('version'))).toContain('Antminer S19 Pro');
    } finally {
      await farm.stop();
    }
  });
});
