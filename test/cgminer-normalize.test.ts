import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CgminerError, dialectFor, normalizeReply, parseCgminerJson, toCgminerReply, type CgminerReply } from '../collectors/cgminer/index.js';
import type { Target } from '../collectors/contract.js';
import { parseBracketed } from '../collectors/cgminer/dialects/avalon/index.js';
import { dashValues } from '../collectors/cgminer/dialects/fields.js';
import { cgminerTestdata } from './helpers.js';

const target: Target = {
  url: 'cgminer://10.0.1.15:4028',
  scheme: 'cgminer',
  host: '10.0.1.15',
  port: 4028,
  labels: { site: 'tx1', rack: 'r4' },
  intervalMs: 30_000,
  timeoutMs: 5_000,
};
const observedAt = new Date('2026-03-01T12:00:00Z');

function reply(name: string): CgminerReply {
  return toCgminerReply(parseCgminerJson(readFileSync(cgminerTestdata(name), 'utf8')).value);
}
const normalize = (r: CgminerReply, t: Target = target) => normalizeReply(r, { target: t, observedAt });
/** A single reply filed under the command that asked for it, as the poll files it. */
function withCommand(command: string, name: string): CgminerReply {
  return toCgminerReply(parseCgminerJson(readFileSync(cgminerTestdata(name), 'utf8')).value, command);
}

describe('antminer dialect', () => {
  it('reads an S19 Pro stats reply repaired from `}{`', () => {
    const s = normalize(reply('antminer-s19pro-stats-brace-nul.txt'));
    expect(s).toMatchObject({
      id: 'asic/10.0.1.15',
      kind: 'asic',
      target: 'cgminer://10.0.1.15:4028',
      address: '10.0.1.15',
      labels: { site: 'tx1', rack: 'r4' },
      dialect: 'antminer',
      vendor: 'Bitmain',
      model: 'Antminer S19 Pro',
      firmware: 'Wed Oct 21 10:18:10 CST 2020',
      up: true,
      observed_at: '2026-03-01T12:00:00.000Z',
      uptime_s: 50474,
      hashrate_hs: 110786.79e9,
      nominal_hashrate_hs: 110000e9,
      fans_rpm: [5520, 5400, 5040, 5040],
      hardware_errors: 183 + 195 + 184,
    });
    expect(s.temperatures_c).toEqual({ board0_chip: 78, board0_pcb: 73, board1_chip: 76, board1_pcb: 71, board2_chip: 75, board2_pcb: 70, chip_max: 78, pcb_max: 73 });
    expect(s.boards).toEqual([
      { index: 0, status: 'ok', hashrate_hs: 37735.24e9, chip_temperature_c: 78, board_temperature_c: 73, chips: 114, chips_expected: 114, hardware_errors: 183 },
      { index: 1, status: 'ok', hashrate_hs: 38109.07e9, chip_temperature_c: 76, board_temperature_c: 71, chips: 114, chips_expected: 114, hardware_errors: 195 },
      { index: 2, status: 'ok', hashrate_hs: 34942.48e9, chip_temperature_c: 75, board_temperature_c: 70, chips: 114, chips_expected: 114, hardware_errors: 184 },
    ]);
    expect(s.error).toBeUndefined();
    // Not reported by stock firmware: absent, never estimated here.
    expect(s).not.toHaveProperty('power_w');
    expect(s).not.toHaveProperty('power_by_source_w');
    expect(s).not.toHaveProperty('accepted_shares');
  });

  it('reports a dead board in error while staying up', () => {
    const s = normalize(reply('antminer-s19pro-dead-board-stats.json'));
    expect(s.up).toBe(true);
    expect(s.boards?.map((b) => b.status)).toEqual(['ok', 'dead', 'ok']);
    expect(s.boards?.[1]).toEqual({ index: 1, status: 'dead', hashrate_hs: 0, chips: 0, chips_expected: 114, hardware_errors: 0 });
    expect(s.error).toBe('board 2 of 3 dead: 0 of 114 chips');
  });

  it('marks a board short of chips degraded (S19 XP)', () => {
    const s = normalize(reply('antminer-s19xp-stats.json'));
    expect(s.model).toBe('Antminer S19 XP');
    expect(s.firmware).toBe('Thu Aug 11 09:21:52 CST 2022');
    expect(s.hashrate_hs).toBeCloseTo(141230.5e9, -2);
    expect(s.boards?.map((b) => [b.status, b.chips, b.chips_expected])).toEqual([
      ['ok', 110, 110],
      ['degraded', 106, 110],
      ['ok', 110, 110],
    ]);
    expect(s.error).toBeUndefined();
  });

  it('reads an S9: chains 6-8, temp2_N chip sensors, -273 as no reading, "GHS 5s" as a string', () => {
    const s = normalize(reply('antminer-s9-stats-brace.txt'));
    expect(s.model).toBe('Antminer S9');
    expect(s.hashrate_hs).toBeCloseTo(13512.07e9, -2);
    expect(s.fans_rpm).toEqual([5880, 6120]);
    expect(s.boards?.map((b) => [b.index, b.chips, b.chip_temperature_c, b.board_temperature_c])).toEqual([
      [5, 63, 78, 61],
      [6, 63, 81, 63],
      [7, 63, undefined, 60],
    ]);
    expect(s.boards?.[2]).not.toHaveProperty('chip_temperature_c');
    expect(s.temperatures_c['chip_max']).toBe(81);
  });

  it('reads the joined summary+stats+pools reply', () => {
    const r = reply('antminer-s19pro-summary+stats+pools.json');
    expect(Object.keys(r).sort()).toEqual(['pools', 'stats', 'summary']);
    const s = normalize(r);
    expect(s).toMatchObject({ dialect: 'antminer', hashrate_hs: 110566.89e9, accepted_shares: 4057, rejected_shares: 11, stale_shares: 1, hardware_errors: 562, uptime_s: 50474 });
    expect(s.pools).toEqual([
      { url: 'stratum+tcp://btc.example-pool.com:3333', user: 'farm1.s19pro_015', status: 'Alive', active: true, accepted_shares: 4057, rejected_shares: 11, stale_shares: 1 },
      { url: 'stratum+tcp://btc-backup.example-pool.com:443', user: 'farm1.s19pro_015', status: 'Alive', active: false, accepted_shares: 0, rejected_shares: 0, stale_shares: 0 },
    ]);
  });

  it('names a non-default port in the id', () => {
    const s = normalize(reply('antminer-s19xp-stats.json'), { ...target, port: 14028, url: 'cgminer://10.0.1.15:14028' });
    expect(s.id).toBe('asic/10.0.1.15:14028');
  });

  it('chooses the dialect from the reply, not from configuration', () => {
    expect(dialectFor(reply('antminer-s19xp-stats.json')).name).toBe('antminer');
    expect(dialectFor({ summary: { STATUS: [{ STATUS: 'S' }], SUMMARY: [{ 'MHS 5s': 1 }] } }).name).toBe('cgminer');
    // LuxOS answers with an Antminer Type but is not stock firmware.
    const lux = withCommand('version', 'luxos-s19kpro-version-minimal.json');
    expect(dialectFor(lux).name).toBe('luxos');
  });
});

describe('generic dialect', () => {
  it('reads standard cgminer fields, converting MHS to H/s and leaving unreported fields absent', () => {
    const s = normalize({
      summary: { STATUS: [{ STATUS: 'S', Code: 11, Description: 'cgminer 4.11.1' }], SUMMARY: [{ Elapsed: 20, 'MHS av': 2.5, 'MHS 5s': '3.5', Accepted: 7, Rejected: 0 }] },
      devs: {
        STATUS: [{ STATUS: 'S' }],
        DEVS: [
          { ASC: 0, Status: 'Alive', 'MHS 5s': 2, Temperature: 0 },
          { ASC: 1, Status: 'Dead', 'MHS 5s': 0, Temperature: 64.5 },
        ],
      },
    });
    expect(s).toMatchObject({ dialect: 'cgminer', firmware: 'cgminer 4.11.1', hashrate_hs: 3.5e6, uptime_s: 20, accepted_shares: 7, rejected_shares: 0 });
    expect(s).not.toHaveProperty('stale_shares');
    expect(s).not.toHaveProperty('hardware_errors');
    expect(s.boards).toEqual([
      { index: 0, status: 'ok', hashrate_hs: 2e6 },
      { index: 1, status: 'dead', hashrate_hs: 0, board_temperature_c: 64.5 },
    ]);
    expect(s.error).toBe('1 of 2 devices dead (#1)');
  });

  it('accepts a single-command reply and produces what it can', () => {
    const s = normalize({ pools: { STATUS: [{ STATUS: 'S' }], POOLS: [{ URL: 'stratum+tcp://p:3333', User: 'u', Status: 'Alive' }] } });
    expect(s.up).toBe(true);
    expect(s.pools).toEqual([{ url: 'stratum+tcp://p:3333', user: 'u', status: 'Alive' }]);
    expect(s).not.toHaveProperty('hashrate_hs');
  });
});

describe('error replies', () => {
  it('throws api_error with the device message when every command was refused', () => {
    let caught: unknown;
    try {
      normalize(reply('error-invalid-command.txt'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CgminerError);
    expect((caught as CgminerError).reason).toBe('api_error');
    expect((caught as CgminerError).message).toBe('10.0.1.15:4028 answered "Invalid command" (STATUS E, code 14)');
  });

  it('keeps what answered and names what was refused (STATUS as a string too)', () => {
    const s = normalize({
      summary: { STATUS: [{ STATUS: 'S' }], SUMMARY: [{ 'GHS 5s': 100 }] },
      stats: { STATUS: 'E', Code: 14, Msg: 'Invalid command' },
    });
    expect(s.hashrate_hs).toBe(100e9);
    expect(s.error).toBe('refused stats: "Invalid command" (STATUS E, code 14)');
  });
});

describe('whatsminer dialect', () => {
  it('repairs the \\\' escape, coerces string watts and leaves "" and -273 unreported', () => {
    const s = normalize({ ...reply('whatsminer-m50s-summary-escape.txt'), ...withCommand('devdetails', 'whatsminer-m50s-devdetails.json') });
    expect(s).toMatchObject({
      dialect: 'whatsminer',
      vendor: 'MicroBT',
      model: 'Whatsminer M50S',
      firmware: '20230803.11.REL',
      mac: 'C4:08:28:1A:2B:3C',
      hashrate_hs: 124873190.55e6,
      nominal_hashrate_hs: 126012e9,
      power_by_source_w: { reported: 3268 },
      power_limit_w: 3300,
      uptime_s: 52311,
    });
    expect(s.temperatures_c).toEqual({ chip_max: 82.25, chip_avg: 74.06, pcb_max: 68.5 });
    expect(s.fans_rpm).toEqual([5610, 5580]);
    expect(s.error).toBeUndefined();
  });

  it('names the board that lost its chips', () => {
    const s = normalize({ ...withCommand('edevs', 'whatsminer-m50s-edevs-dead-board.json'), ...withCommand('devdetails', 'whatsminer-m50s-devdetails.json') });
    expect(s.boards?.map((b) => [b.index, b.status, b.chips, b.chip_temperature_c])).toEqual([
      [0, 'ok', 156, 82.25],
      [1, 'dead', 0, undefined],
      [2, 'ok', 156, 81.5],
    ]);
    expect(s.hashrate_hs).toBe(62511320.18e6 + 62361870.37e6);
    expect(s.error).toBe('board 2 of 3 dead: 0 chips, no hashrate');
  });
});

describe('avalon dialect', () => {
  it('splits bracketed tokens, keys with spaces and tokens without a space between them', () => {
    const m = parseBracketed("'STATS':{Ver[Q-2505] SYSTEMSTATU[Work: In Work, Hash Board: 3 ] Elapsed[975]BOOTBY[0x04] MGHS[1.5 2.5] Nonce Mask[25]}");
    expect(Object.fromEntries(m)).toEqual({ Ver: 'Q-2505', SYSTEMSTATU: 'Work: In Work, Hash Board: 3', Elapsed: '975', BOOTBY: '0x04', MGHS: '1.5 2.5', 'Nonce Mask': '25' });
  });

  it('reads wall power, per-board rates and a lost board', () => {
    const s = normalize(reply('avalon-a1466-estats-board-lost.json'));
    expect(s).toMatchObject({ dialect: 'avalon', vendor: 'Canaan', model: 'AvalonMiner A1466', firmware: '23091101_2c8b4e1_9f3a6d2', serial: '020100004e2c91a7', uptime_s: 40211 });
    expect(s.hashrate_hs).toBe(99872.4e9);
    expect(s.power_by_source_w).toEqual({ reported: 2158 });
    expect(s.temperatures_c).toEqual({ inlet: 27, chip_max: 81, chip_avg: 71, board0_chip: 81, board1_chip: 79 });
    expect(s.boards?.map((b) => [b.index, b.status, b.hashrate_hs])).toEqual([
      [0, 'ok', 49920.11e9],
      [1, 'ok', 49952.29e9],
    ]);
    expect(s.error).toBe('1 of 3 boards not detected');
  });
});

describe('braiins dialect', () => {
  it('reads a joined bosminer reply: tuner watts and limit, chips per chain, 0.0 as no sensor', () => {
    const s = normalize(reply('braiins-s19pro-joined.txt'));
    expect(s).toMatchObject({
      dialect: 'braiins',
      vendor: 'Bitmain',
      model: 'Antminer S19 Pro',
      firmware: 'BOSminer bosminer-plus-tuner 0.9.0-1a2b3c4d',
      hashrate_hs: 95876543.21e6,
      nominal_hashrate_hs: 3 * 36666670e6,
      power_by_source_w: { reported: 2998 },
      power_limit_w: 3000,
      accepted_shares: 5120,
    });
    expect(s.fans_rpm).toEqual([4380, 4440, 4320, 4410]);
    expect(s.boards?.map((b) => [b.index, b.status, b.chips, b.chips_expected, b.board_temperature_c, b.chip_temperature_c])).toEqual([
      [0, 'ok', 114, 114, 58, 73],
      [1, 'ok', 114, 114, 60, 75.5],
      [2, 'degraded', 109, 114, 57, undefined],
    ]);
    expect(s.error).toBeUndefined();
  });
});

describe('vnish dialect', () => {
  it("reads the Antminer layout, names VNish and sums the chains' watts", () => {
    const s = normalize(reply('vnish-s19jpro-stats-chain-power.txt'));
    expect(s).toMatchObject({ dialect: 'vnish', vendor: 'Bitmain', model: 'Antminer S19j Pro', firmware: 'VNish 1.2.6', hashrate_hs: 101234.56e9, nominal_hashrate_hs: 100000e9 });
    expect(s.power_by_source_w).toEqual({ reported: 3035 });
    expect(s.boards?.map((b) => [b.status, b.chips])).toEqual([
      ['ok', 126],
      ['ok', 126],
      ['ok', 126],
    ]);
  });
});

describe("bmminer's dash-joined sensor strings", () => {
  it('reads each value, a doubled dash as a minus sign, and decimals or odd tokens through Number', () => {
    expect(dashValues('57-57-73-73')).toEqual([57, 57, 73, 73]);
    expect(dashValues('2--1-20-22')).toEqual([2, -1, 20, 22]);
    expect(dashValues('-8--11-10-12')).toEqual([-8, -11, 10, 12]);
    expect(dashValues('61.5-60.25')).toEqual([61.5, 60.25]);
    expect(dashValues('0-0-0-0')).toEqual([0, 0, 0, 0]);
    expect(dashValues('57-x-73-')).toEqual([57, 73]);
    expect(dashValues('')).toEqual([]);
    expect(dashValues(57)).toEqual([]);
  });
});
