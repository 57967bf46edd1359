/**
 * Canaan AvalonMiner A1366 / A1466 (Canaan's cgminer 4.11.1), shaped like the field captures
 * avalon_A1566_estats / _version and avalon_A1246_stats: `stats` and `estats` carry one `"MM ID0"`
 * string of bracketed `Key[value]` tokens (multi-value tokens space-separated, `SYSTEMSTATU[...]`
 * with commas and spaces inside, a long `PVT_T0[...]` per board), `summary` in MH/s, `version` with
 * PROD / MODEL / VERSION / DNA / MAC. Watts: `PS[err Vin Vout Iout Pout Vset Pwall]`, and on the A1466
 * also `WALLPOWER[...]` like the A1566.
 */
import type { Dialect } from '../wire.js';
import { fixed, statusBlock, str } from '../wire.js';
import type { MinerReading } from '../physics.js';
import { unit } from '../physics.js';
import { poolsReply } from './antminer.js';

const DESCRIPTION = 'cgminer 4.11.1';
const FIRMWARE = '23091101_2c8b4e1_9f3a6d2';

/** "AvalonMiner A1466" → "1466-150": family, then the hashrate bin in TH/s. */
export function avalonModelCode(r: MinerReading): string {
  const family = /A?(\d{4})/.exec(r.traits.model.model)?.[1] ?? '0000';
  return `${family}-${Math.round(r.traits.model.nominal_hashrate_hs / 1e12)}`;
}

export function avalonDna(r: MinerReading): string {
  return `0201000${Math.floor(unit(r.traits.seed, r.traits.index, 0xd4) * 0xfffffffff)
    .toString(16)
    .padStart(9, '0')}`;
}

function mac(r: MinerReading): string {
  return `e0a1${(r.traits.seed & 0xff).toString(16).padStart(2, '0')}${(r.traits.index & 0xffffff).toString(16).padStart(6, '0')}`;
}

const hasWallPower = (r: MinerReading) => /1466/.test(r.traits.model.model);

function moduleString(r: MinerReading): string {
  const tmax = r.boards.map((b) => (b.alive ? Math.max(...b.chipC) : 0));
  const tavg = r.boards.map((b) => (b.alive ? Math.round((b.chipC.reduce((a, c) => a + c, 0) / 4) * 10) / 10 : 0));
  const inlet = 24 + Math.round(unit(r.traits.seed, r.traits.index, 0xa7) * 8);
  const fanPct = Math.round(((r.fansRpm[0] ?? 0) / 7000) * 100);
  const wall = r.powerW;
  const out = Math.round(wall * 0.945);
  const ps = `0 1211 1186 ${Math.round(out / 12)} ${out} 1188 ${wall}`;
  const pvt = (i: number) => Array.from({ length: 16 }, (_, k) => String(r.boards[i]!.alive ? tmax[i]! - 8 + (k % 5) : 0).padStart(3, ' ')).join(' ');
  const fans = r.fansRpm.map((rpm, i) => `Fan${i + 1}[${rpm}]`).join(' ');
  return (
    `Ver[${avalonModelCode(r)}-${FIRMWARE}] DNA[${avalonDna(r)}] MEMFREE[1392832.1381104] NETFAIL[0 0 0 0 0 0 0 0] SYSTEMSTATU[Work: In Work, Hash Board: ${r.boards.length} ] ` +
    `Elapsed[${r.elapsedS}] BOOTBY[0x04.00000000] LW[${r.elapsedS * 732}] MH[${r.boards.map(() => 0).join(' ')}] DHW[0] HW[${r.hardwareErrors}] DH[1.299%] ` +
    `Temp[${inlet}] TMax[${Math.max(0, ...tmax)}] TAvg[${Math.round(Math.max(0, ...tavg))}] ${fans} FanR[${fanPct}%] Vo[296] PS[${ps}]${hasWallPower(r) ? ` WALLPOWER[${wall}]` : ''} ` +
    r.boards.map((b) => `PLL${b.index}[3346 2549 4722 13703]`).join(' ') +
    ` GHSspd[${fixed(r.ghs5s, 2)}] DHspd[1.299%] GHSmm[${fixed(r.idealGhs * r.traits.derate * 1.02, 2)}] GHSavg[${fixed(r.ghsAv, 2)}] WU[${fixed(r.ghsAv * 13.97, 2)}] Freq[345.94] Led[0] ` +
    `MGHS[${r.boards.map((b) => fixed(b.hashrateGhs, 2)).join(' ')}] MTmax[${tmax.join(' ')}] MTavg[${tavg.map((t) => Math.round(t)).join(' ')}] ` +
    `TA[480] Core[A3197S] PING[131] POWS[0] EEPROM[160 160 160] HASHS[${r.boards.map((b) => (b.alive ? 0 : 1)).join(' ')}] POOLS[0] SoftOFF[0] ` +
    `ECHU[${r.boards.map(() => 0).join(' ')}] ECMM[0] ` +
    r.boards.map((b) => `PVT_T${b.index}[${pvt(b.index)}]`).join(' ')
  );
}

function stats(r: MinerReading): string {
  const pool = (i: number) =>
    `{"STATS":${i + 1},"ID":"POOL${i}","Elapsed":${r.elapsedS},"Calls":0,"Wait":0.000000,"Max":0.000000,"Min":99999999.000000,"Pool Calls":0,"Pool Attempts":0,"Pool Wait":0.000000,"Pool Max":0.000000,"Pool Min":99999999.000000,"Pool Av":0.000000,"Work Had Roll Time":false,"Work Can Roll":false,"Work Had Expire":false,"Work Roll Time":0,"Work Diff":${fixed(r.poolDifficulty, 8)},"Min Diff":${fixed(r.poolDifficulty, 8)},"Max Diff":${fixed(r.poolDifficulty, 8)},"Min Diff Count":0,"Max Diff Count":0,"Times Sent":0,"Bytes Sent":0,"Times Recv":0,"Bytes Recv":0,"Net Bytes Sent":0,"Net Bytes Recv":0}`;
  return (
    `{"STATUS":[${statusBlock('S', r.when, 70, 'CGMiner stats', DESCRIPTION)}],"STATS":[{"STATS":0,"ID":"AVA100","Elapsed":${r.elapsedS},"Calls":0,"Wait":0.000000,"Max":0.000000,"Min":99999999.000000` +
    `,"MM ID0":${str(moduleString(r))},"MM Count":1,"Smart Speed":1,"Voltage Level Offset":0,"Nonce Mask":25},${[0, 1, 2].map(pool).join(',')}],"id":1}`
  );
}

function summary(r: MinerReading): string {
  const mhs = (ghs: number) => fixed(ghs * 1000, 2);
  return (
    `{"STATUS":[${statusBlock('S', r.when, 11, 'Summary', DESCRIPTION)}],"SUMMARY":[{"Elapsed":${r.elapsedS},"MHS av":${mhs(r.ghsAv)},"MHS 30s":${mhs(r.ghs5s)},"MHS 1m":${mhs(r.ghs30m)},"MHS 5m":${mhs(r.ghs30m)},"MHS 15m":${mhs(r.ghsAv)}` +
    `,"Found Blocks":0,"Getworks":${Math.floor(r.elapsedS / 30)},"Accepted":${r.accepted},"Rejected":${r.rejected},"Hardware Errors":${r.hardwareErrors},"Utility":${fixed((r.accepted * 60) / r.elapsedS, 2)}` +
    `,"Discarded":${Math.floor(r.elapsedS / 2)},"Stale":${r.stale},"Get Failures":0,"Local Work":${r.elapsedS * 732},"Remote Failures":0,"Network Blocks":${Math.floor(r.elapsedS / 600)}` +
    `,"Total MH":${fixed(r.ghsAv * 1000 * r.elapsedS, 4)},"Work Utility":${fixed((r.ghsAv * 60) / 4.294967296, 2)},"Difficulty Accepted":${fixed(r.accepted * r.poolDifficulty, 8)}` +
    `,"Difficulty Rejected":${fixed(r.rejected * r.poolDifficulty, 8)},"Difficulty Stale":${fixed(r.stale * r.poolDifficulty, 8)},"Best Share":${r.bestShare},"Device Hardware%":0.0000` +
    `,"Device Rejected%":0.0000,"Pool Rejected%":0.0000,"Pool Stale%":0.0000,"Last getwork":${r.when}}],"id":1}`
  );
}

function version(r: MinerReading): string {
  const code = avalonModelCode(r);
  return (
    `{"STATUS":[${statusBlock('S', r.when, 22, 'CGMiner versions', DESCRIPTION)}],"VERSION":[{"CGMiner":"4.11.1","API":"3.7","STM8":"20.08.01","PROD":${str(`AvalonMiner ${code}`)}` +
    `,"MODEL":${str(code)},"HWTYPE":"MM4v2_X3","SWTYPE":"MM319","VERSION":${str(FIRMWARE)},"LOADER":"d0d779de.00","DNA":${str(avalonDna(r))},"MAC":${str(mac(r))},"UPAPI":"2"}],"id":1}`
  );
}

export const avalonDialect: Dialect<'avalon'> = {
  name: 'avalon',
  description: () => DESCRIPTION,
  reply(command, r) {
    switch (command) {
      case 'summary':
        return summary(r);
      case 'stats':
      case 'estats':
        return stats(r);
      case 'version':
        return version(r);
      case 'pools':
        return poolsReply(r, DESCRIPTION);
      default:
        return undefined;
    }
  },
};
