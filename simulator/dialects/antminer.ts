/**
 * Bitmain stock firmware (bmminer / Bitmain's cgminer 4.x fork) as S9 and S19-class miners send it.
 * Layouts, key order, key spellings ("total rate" vs "total_rate", devs' "Tenperature"), string-typed
 * numbers and fixed decimals follow the field captures in shared/fixtures/cgminer/field:
 * antminer-stock_S9-V1.3.58_stats.txt (S9 layout: 16 slots, boards on chains 6-8),
 * antminer-stock_S19Pro_stats_2025 / _summary_2025 / _S19_stats_sleeping (S19 layout: 4 slots, a missing
 * chain drops its temp keys and miner_count), antminer-stock_S17Pro_pools (pools), asic-rs v2020 devs.
 * S17/T17 use the S19 layout here; their real firmware uses 16 slots like the S9 (a known simplification).
 *
 * `stats` reproduces bmminer's join bug: no comma between STATS[0] and STATS[1] (`…"Type":"…"}{"STATS":0,…`),
 * as the S9 capture shows; a collector has to repair it.
 */
import type { Dialect } from '../wire.js';
import { fixed, statusBlock, str } from '../wire.js';
import type { BoardReading, MinerReading } from '../physics.js';
import { unit } from '../physics.js';

interface Profile {
  /** bmminer 2.0.0 on the S9, Bitmain cgminer "1.0.0" on S17 and later. */
  legacy: boolean;
  description: string;
  statsMsg: string;
  versionMsg: string;
  bmminer: string;
  miner: string;
  compileTime: string;
}

const S9_PROFILE: Profile = {
  legacy: true,
  description: 'bmminer 1.0.0',
  statsMsg: 'BMMiner stats',
  versionMsg: 'BMMiner versions',
  bmminer: '2.0.0',
  miner: '30.0.1.3',
  compileTime: 'Wed Jul 31 16:18:27 CST 2019',
};
const MODERN_PROFILE: Profile = {
  legacy: false,
  description: 'cgminer 1.0.0',
  statsMsg: 'CGMiner stats',
  versionMsg: 'CGMiner versions',
  bmminer: '1.0.0',
  miner: '49.0.1.3',
  compileTime: 'Tue Dec  6 16:12:30 CST 2022',
};

function profileOf(r: MinerReading): Profile {
  return /\bS9\b/.test(r.traits.model.model) ? S9_PROFILE : MODERN_PROFILE;
}

/** The `Type` string bmminer reports: the model name as Bitmain writes it. */
function typeOf(r: MinerReading): string {
  return r.traits.model.model;
}

function minerId(r: MinerReading): string {
  const a = Math.floor(unit(r.traits.seed, r.traits.index, 0x1d) * 0xffffffff);
  const b = Math.floor(unit(r.traits.seed, r.traits.index, 0x1e) * 0xffffffff);
  return (a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')).slice(0, 16);
}

/** chain_acsN: one "o" per responding chip, in space-led groups (8 per group on the S9, 2-3 on the S19). */
function chipString(b: BoardReading, legacy: boolean): string {
  if (!b.alive) return '';
  const group = legacy ? 8 : b.chips >= 100 ? 3 : 2;
  let out = '';
  for (let left = b.chips; left > 0; left -= group) out += ` ${'o'.repeat(Math.min(group, left))}`;
  return out;
}

/** cgminer's suffix_string: 39491 → "39.5K", 512 → "512". */
function suffixString(value: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let v = value;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return String(Math.round(v));
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[i]}`;
}

function hms(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

const dash = (t: readonly number[]) => t.join('-');

/** Nominal GH/s of the boards the firmware can see (a missing board drops out of total_rateideal). */
function idealOfAlive(r: MinerReading): number {
  return (r.idealGhs * r.boards.filter((b) => b.alive).length) / r.boards.length;
}

function version(r: MinerReading, p: Profile): string {
  return `{"STATUS":[${statusBlock('S', r.when, 22, p.versionMsg, p.description)}],"VERSION":[{"BMMiner":${str(p.bmminer)},"API":"3.1","Miner":${str(p.miner)},"CompileTime":${str(p.compileTime)},"Type":${str(typeOf(r))}}],"id":1}`;
}

function summary(r: MinerReading, p: Profile): string {
  const totalMh = r.ghsAv * 1000 * r.elapsedS;
  const diffAccepted = r.accepted * r.poolDifficulty;
  const diffRejected = r.rejected * r.poolDifficulty;
  const diffStale = r.stale * r.poolDifficulty;
  const rejectedPct = diffAccepted + diffRejected > 0 ? (100 * diffRejected) / (diffAccepted + diffRejected) : 0;
  const getworks = Math.floor(r.elapsedS / 12.7);
  const ghs5s = p.legacy ? str(fixed(r.ghs5s, 2)) : fixed(r.ghs5s, 2);
  const ghs30m = p.legacy ? '' : `,"GHS 30m":${fixed(r.ghs30m, 2)}`;
  return (
    `{"STATUS":[${statusBlock('S', r.when, 11, 'Summary', p.description)}],"SUMMARY":[{"Elapsed":${r.elapsedS},"GHS 5s":${ghs5s},"GHS av":${fixed(r.ghsAv, 2)}${ghs30m}` +
    `,"Found Blocks":0,"${p.legacy ? 'Getworks' : 'Getwork'}":${getworks},"Accepted":${r.accepted},"Rejected":${r.rejected},"Hardware Errors":${r.hardwareErrors}` +
    `,"Utility":${fixed((r.accepted * 60) / r.elapsedS, 2)},"Discarded":${getworks * 1144},"Stale":${r.stale},"Get Failures":${Math.floor(r.elapsedS / 86400)},"Local Work":${getworks * 1145}` +
    `,"Remote Failures":0,"Network Blocks":${Math.floor(r.elapsedS / 600)},"Total MH":${fixed(totalMh, 4)},"Work Utility":${fixed((r.ghsAv * 60) / 4.294967296, 2)}` +
    `,"Difficulty Accepted":${fixed(diffAccepted, 8)},"Difficulty Rejected":${fixed(diffRejected, 8)},"Difficulty Stale":${fixed(diffStale, 8)},"Best Share":${r.bestShare}` +
    `,"Device Hardware%":${fixed(0, 4)},"Device Rejected%":${fixed(rejectedPct, 4)},"Pool Rejected%":${fixed(rejectedPct, 4)},"Pool Stale%":${fixed(0, 4)},"Last getwork":${r.when}}],"id":1}`
  );
}

function statsHeader(r: MinerReading, p: Profile): string {
  return `{"BMMiner":${str(p.bmminer)},"Miner":${str(p.miner)},"CompileTime":${str(p.compileTime)},"Type":${str(typeOf(r))}}`;
}

/** S9 layout: 16 chain slots, 8 fan slots, the three boards on chains 6, 7 and 8, fans on slots 5 and 6. */
function legacyStatsBody(r: MinerReading): string {
  const SLOTS = 16;
  const FIRST_CHAIN = 6;
  const FIRST_FAN = 5;
  const board = (slot: number) => r.boards[slot - FIRST_CHAIN];
  const FAN_SLOTS = 8;
  const range = (f: (slot: number) => string, slots = SLOTS) => Array.from({ length: slots }, (_, i) => f(i + 1)).join(',');
  const alive = r.boards.filter((b) => b.alive);
  const chainHw = (slot: number) => board(slot)?.hardwareErrors ?? 0;
  const tempMax = Math.max(0, ...alive.map((b) => Math.max(...b.chipC)));
  const hwPct = r.accepted > 0 ? (100 * r.hardwareErrors) / (r.hardwareErrors + r.accepted * 1000) : 0;
  const live = r.boards.filter((b) => b.alive).map((b) => b.index + FIRST_CHAIN);
  const xtime = (b: BoardReading) =>
    `{${Array.from({ length: b.chips }, (_, i) => `X${i}=${56 + Math.floor(unit(r.traits.seed, r.traits.index, 0x77, b.index, i) * 5)}`).join(',')}}`;
  return (
    `{"STATS":0,"ID":"BC50","Elapsed":${r.elapsedS},"Calls":0,"Wait":0.000000,"Max":0.000000,"Min":99999999.000000,"GHS 5s":${str(fixed(r.ghs5s, 2))},"GHS av":${fixed(r.ghsAv, 2)}` +
    `,"miner_count":${alive.length},"frequency":650,"fan_num":${r.fansRpm.length},` +
    range((s) => `"fan${s}":${r.fansRpm[s - FIRST_FAN] ?? 0}`, FAN_SLOTS) +
    `,"temp_num":${alive.length},` +
    range((s) => `"temp${s}":${board(s)?.alive ? Math.max(...board(s)!.pcbC) : 0}`) +
    ',' +
    range((s) => `"temp2_${s}":${board(s)?.alive ? Math.max(...board(s)!.chipC) : 0}`) +
    ',' +
    range((s) => `"temp3_${s}":0`) +
    ',' +
    range((s) => `"freq_avg${s}":${fixed(board(s)?.alive ? 649.1 : 0, 2)}`) +
    `,"total_rateideal":${fixed(idealOfAlive(r), 2)},"total_freqavg":${fixed(alive.length ? 649.1 : 0, 2)},"total_acn":${alive.reduce((a, b) => a + b.chips, 0)},"total_rate":${fixed(r.ghs5s, 2)},` +
    range((s) => `"chain_rateideal${s}":${fixed(board(s)?.alive ? board(s)!.idealGhs : 0, 2)}`) +
    `,"temp_max":${tempMax},"Device Hardware%":${fixed(hwPct, 4)},"no_matching_work":${r.hardwareErrors},` +
    range((s) => `"chain_acn${s}":${board(s)?.chips ?? 0}`) +
    ',' +
    range((s) => `"chain_acs${s}":${str(board(s) ? chipString(board(s)!, true) : '')}`) +
    ',' +
    range((s) => `"chain_hw${s}":${chainHw(s)}`) +
    ',' +
    range((s) => `"chain_rate${s}":${str(board(s)?.alive ? fixed(board(s)!.hashrateGhs, 2) : '')}`) +
    live.map((s) => `,"chain_xtime${s}":${str(xtime(board(s)!))}`).join('') +
    live.map((s) => `,"chain_offside_${s}":"0"`).join('') +
    live.map((s) => `,"chain_opencore_${s}":"0"`).join('') +
    `,"miner_version":${str(S9_PROFILE.miner)}}`
  );
}

/** S19 layout: 4 slots; a board the firmware cannot see drops out of miner_count and loses its temp keys. */
function modernStatsBody(r: MinerReading): string {
  const SLOTS = 4;
  const range = (f: (slot: number, b: BoardReading | undefined) => string) => Array.from({ length: SLOTS }, (_, i) => f(i + 1, r.boards[i])).join(',');
  const alive = r.boards.filter((b) => b.alive);
  const tempKeys = alive.map((b) => `"temp${b.index + 1}":${Math.max(...b.pcbC)},"temp2_${b.index + 1}":${Math.max(...b.chipC)}`).join(',');
  const pic = (t: readonly number[]) => t.map((c) => (c === 0 ? 0 : c - 10));
  const fans = r.fansRpm.map((rpm, i) => `"fan${i + 1}":${rpm}`).join(',');
  return (
    `{"STATS":0,"ID":"BTM_SOC0","Elapsed":${r.elapsedS},"Calls":0,"Wait":0,"Max":0,"Min":99999999,"GHS 5s":${fixed(r.ghs5s, 2)},"GHS av":${fixed(r.ghsAv, 2)},"rate_30m":${fixed(r.ghs30m, 2)}` +
    `,"Mode":2,"miner_count":${alive.length},"frequency":525,"fan_num":${r.fansRpm.length}${fans ? `,${fans}` : ''},"temp_num":${alive.length}${tempKeys ? `,${tempKeys}` : ''},` +
    range((s, b) => `"temp_pcb${s}":"${dash(b?.pcbC ?? [0, 0, 0, 0])}"`) +
    ',' +
    range((s, b) => `"temp_chip${s}":"${dash(b?.chipC ?? [0, 0, 0, 0])}"`) +
    ',' +
    range((s, b) => `"temp_pic${s}":"${dash(pic(b?.pcbC ?? [0, 0, 0, 0]))}"`) +
    `,"total_rateideal":${fixed(idealOfAlive(r), 2)},"rate_unit":"GH","total_freqavg":${alive.length ? 525 : 0},"total_acn":${alive.reduce((a, b) => a + b.chips, 0)}` +
    `,"total rate":${fixed(r.ghsAv, 2)},"temp_max":0,"no_matching_work":${r.hardwareErrors},` +
    range((s, b) => `"chain_acn${s}":${b?.chips ?? 0}`) +
    ',' +
    range((s, b) => `"chain_acs${s}":${str(b ? chipString(b, false) : '')}`) +
    ',' +
    range((s, b) => `"chain_hw${s}":${b?.hardwareErrors ?? 0}`) +
    ',' +
    range((s, b) => `"chain_rate${s}":${str(b?.alive ? fixed(b.hashrateGhs, 2) : '')}`) +
    ',' +
    range((s, b) => `"freq${s}":${b?.frequencyMhz ?? 0}`) +
    `,"miner_version":${str(MODERN_PROFILE.miner)},"miner_id":${str(minerId(r))}}`
  );
}

/**
 * bmminer's `stats` as the forks that keep its layout send it (LuxOS, VNish): their own header row,
 * their own Description, and `extraKeys` (e.g. `"chain_power1":"1071 W"`) appended to the chain row.
 * Forks put the comma between the two rows that stock firmware forgets.
 */
export function forkStatsReply(r: MinerReading, fork: { header: string; description: string; extraKeys?: string }): string {
  const body = profileOf(r).legacy ? legacyStatsBody(r) : modernStatsBody(r);
  const chainRow = fork.extraKeys ? `${body.slice(0, -1)},${fork.extraKeys}}` : body;
  return `{"STATUS":[${statusBlock('S', r.when, 70, 'CGMiner stats', fork.description)}],"STATS":[${fork.header},${chainRow}],"id":1}`;
}

/** bmminer's SUMMARY with another firmware's Description. */
export function forkSummaryReply(r: MinerReading, description: string): string {
  return summary(r, { ...profileOf(r), description });
}

function stats(r: MinerReading, p: Profile): string {
  const body = p.legacy ? legacyStatsBody(r) : modernStatsBody(r);
  // No comma between the two STATS entries: bmminer's bug, kept on purpose.
  return `{"STATUS":[${statusBlock('S', r.when, 70, p.statsMsg, p.description)}],"STATS":[${statsHeader(r, p)}${body}],"id":1}`;
}

/** cgminer's POOLS reply (three pools, the first one active); shared by the dialects that keep it. */
export function poolsReply(r: MinerReading, description: string): string {
  const user = `farm.sim${String(r.traits.index).padStart(5, '0')}`;
  const urls = ['stratum+tcp://btc.pool.example:3333', 'stratum+tcp://btc-backup.pool.example:3333', 'stratum+tcp://btc.pool.example:443'];
  const entries = urls.map((url, i) => {
    const main = i === 0;
    const accepted = main ? r.accepted : Math.floor(r.elapsedS / 90000);
    const rejected = main ? r.rejected : 0;
    const stale = main ? r.stale : 0;
    const diff = main ? r.poolDifficulty : 512;
    const dAcc = accepted * diff;
    const dRej = rejected * diff;
    const pct = dAcc + dRej > 0 ? (100 * dRej) / (dAcc + dRej) : 0;
    const host = url.replace(/^stratum\+tcp:\/\//, '').replace(/:\d+$/, '');
    return (
      `{"POOL":${i},"URL":${str(url)},"Status":"Alive","Priority":${i},"Quota":1,"Long Poll":"N","Getworks":${Math.floor(r.elapsedS / (main ? 12.7 : 13.5))}` +
      `,"Accepted":${accepted},"Rejected":${rejected},"Discarded":${main ? Math.floor(r.elapsedS / 1.9) : Math.floor(r.elapsedS / 3000)},"Stale":${stale},"Get Failures":${main ? Math.floor(r.elapsedS / 86400) : 5}` +
      `,"Remote Failures":0,"User":${str(user)},"Last Share Time":${str(main ? hms(Math.floor(unit(r.traits.seed, r.traits.index, 0x51, r.when) * 12)) : hms(Math.min(r.elapsedS, 3600 * 66 + 1095)))}` +
      `,"Diff":${str(suffixString(diff))},"Diff1 Shares":0,"Proxy Type":"","Proxy":"","Difficulty Accepted":${fixed(dAcc, 8)},"Difficulty Rejected":${fixed(dRej, 8)},"Difficulty Stale":${fixed(stale * diff, 8)}` +
      `,"Last Share Difficulty":${fixed(diff, 8)},"Has Stratum":true,"Stratum Active":${main},"Stratum URL":${str(host)},"Has GBT":false,"Best Share":${main ? r.bestShare : 2237539}` +
      `,"Pool Rejected%":${fixed(pct, 4)},"Pool Stale%":${fixed(0, 4)}}`
    );
  });
  return `{"STATUS":[${statusBlock('S', r.when, 7, `${urls.length} Pool(s)`, description)}],"POOLS":[${entries.join(',')}],"id":1}`;
}

/**
 * Bitmain's devs reports one pseudo-device with zero hashrate and the "Tenperature" misspelling:
 * that is the real firmware, and why a collector reads summary/stats instead.
 */
function devs(r: MinerReading, p: Profile): string {
  const dAcc = r.accepted * r.poolDifficulty;
  const dRej = r.rejected * r.poolDifficulty;
  return (
    `{"STATUS":[${statusBlock('S', r.when, 9, '1 ASC(s)', p.description)}],"DEVS":[{"ASC":0,"Name":"BTM_SOC","ID":0,"Enabled":"Y","Status":"Alive","Tenperature":0.00` +
    `,"MHS av":0.00,"MHS 5s":0.00,"Accepted":${r.accepted},"Rejected":${r.rejected},"Hardware Errors":0,"Utility":0.00,"Last Share Pool":0,"Last Share Time":${r.when - 3}` +
    `,"Total MH":0.0000,"Diff1 Work":0,"Difficulty Accepted":${fixed(dAcc, 8)},"Difficulty Rejected":${fixed(dRej, 8)},"Last Share Difficulty":${fixed(r.poolDifficulty, 8)}` +
    `,"Last Valid Work":${r.when - 3},"Device Hardware%":${fixed(0, 4)},"Device Rejected%":${fixed(0, 4)},"Device Elapsed":${r.elapsedS}}],"id":1}`
  );
}

export const antminerDialect: Dialect<'antminer'> = {
  name: 'antminer',
  description: (r) => profileOf(r).description,
  reply(command, r) {
    const p = profileOf(r);
    switch (command) {
      case 'version':
        return version(r, p);
      case 'summary':
        return summary(r, p);
      case 'stats':
        return stats(r, p);
      case 'pools':
        return poolsReply(r, p.description);
      case 'devs':
        return devs(r, p);
      default:
        return undefined;
    }
  },
};
