/**
 * MicroBT Whatsminer (btminer) as M30S++ / M50S / M60S send it, shaped like the field captures
 * whatsminer_M20S_summary / _devs_2025 / _get_version and asic-rs whatsminer v1/v2:
 * - `summary` in MH/s with Power, Power_RT, Power Limit, Factory GHS, Chip Temp Min/Max/Avg, Env Temp,
 *   Fan Speed In/Out, MAC and the quoted Firmware Version — written with the illegal `\'` escape on the
 *   older (M30S++) firmware, as the M20S capture has it;
 * - `devs` / `edevs` one row per board, `devdetails` with the model ("M50S.VH40"), `get_version` and
 *   `get_miner_info` in btminer's own shape (string STATUS, `Msg` object);
 * - joins of its cgminer commands answered as cgminer does (pyasic's BTMiner API joins them); a join
 *   holding anything else, and everything else on its own, `stats` included (as on current btminer;
 *   the old M20S still answered `stats`), answered `{"STATUS":"E",…,"Code":14,"Msg":"invalid cmd"}`.
 */
import type { Dialect } from '../wire.js';
import { fixed, joinedReply, str } from '../wire.js';
import type { BoardReading, MinerReading } from '../physics.js';
import { unit } from '../physics.js';
import { poolsReply } from './antminer.js';

interface Firmware {
  release: string;
  /** The older firmware escapes the quotes around its version: `"\'20210322.22.REL\'"`. */
  escapesQuote: boolean;
  variant: string;
  apiVersion: string;
}

function firmwareOf(r: MinerReading): Firmware {
  const model = r.traits.model.model;
  if (/M30S/.test(model)) return { release: '20210322.22.REL', escapesQuote: true, variant: 'VH40', apiVersion: 'whatsminer v1.4.0' };
  if (/M50S/.test(model)) return { release: '20230803.11.REL', escapesQuote: false, variant: 'VH40', apiVersion: '2.0.5' };
  return { release: '20240624.18.REL', escapesQuote: false, variant: 'VK40', apiVersion: '2.0.5' };
}

const DESCRIPTION = 'cgminer 4.9.2';
/** What btminer answers inside a join; its own `get_*` commands and `status` it answers only alone. */
const JOINABLE = new Set(['summary', 'pools', 'devs', 'edevs', 'devdetails']);
const MHS = (ghs: number) => fixed(ghs * 1000, 2);

/** "Whatsminer M50S" → "M50S". */
function shortModel(r: MinerReading): string {
  return r.traits.model.model.replace(/^Whatsminer\s+/, '');
}

export function whatsminerMac(r: MinerReading): string {
  const bytes = [0xc4, 0x08, 0x28, r.traits.seed & 0xff, (r.traits.index >> 8) & 0xff, r.traits.index & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

function status(r: MinerReading, code: number, msg: string): string {
  return `[{"STATUS":"S","When":${r.when},"Code":${code},"Msg":${str(msg)},"Description":${str(DESCRIPTION)}}]`;
}

function btminerError(r: MinerReading, code: number, msg: string): string {
  return `{"STATUS":"E","When":${r.when},"Code":${code},"Msg":${str(msg)},"Description":""}`;
}

function chipTemps(b: BoardReading): { min: number; max: number; avg: number } {
  if (!b.alive) return { min: 0, max: 0, avg: 0 };
  const max = Math.max(...b.chipC);
  const min = Math.min(...b.chipC) - 4;
  return { min, max, avg: Math.round(((min + max) / 2 + 3) * 100) / 100 };
}

function summary(r: MinerReading): string {
  const fw = firmwareOf(r);
  const alive = r.boards.filter((b) => b.alive);
  const temps = alive.map(chipTemps);
  const boardTemp = Math.max(0, ...alive.map((b) => Math.max(...b.pcbC)));
  const version = fw.escapesQuote ? `\\'${fw.release}\\'` : `'${fw.release}'`;
  const limit = Math.ceil((r.traits.model.nominal_power_w * 1.05) / 100) * 100;
  const envTemp = 25 + Math.round(unit(r.traits.seed, r.traits.index, 0xe7) * 80) / 10;
  return (
    `{"STATUS":${status(r, 11, 'Summary')},"SUMMARY":[{"Elapsed":${r.elapsedS},"MHS av":${MHS(r.ghsAv)},"MHS 5s":${MHS(r.ghs5s)},"MHS 1m":${MHS(r.ghs30m)},"MHS 5m":${MHS(r.ghs30m)},"MHS 15m":${MHS(r.ghsAv)}` +
    `,"HS RT":${MHS(r.ghs30m)},"Found Blocks":0,"Getworks":${Math.floor(r.elapsedS / 10.7)},"Accepted":${r.accepted},"Rejected":${r.rejected},"Hardware Errors":${r.hardwareErrors}` +
    `,"Utility":${fixed((r.accepted * 60) / r.elapsedS, 2)},"Stale":${r.stale},"Total MH":${fixed(r.ghsAv * 1000 * r.elapsedS, 4)}` +
    `,"Temperature":${fixed(boardTemp, 2)},"freq_avg":${alive.length ? 600 : 0},"Fan Speed In":${r.fansRpm[0] ?? 0},"Fan Speed Out":${r.fansRpm[1] ?? 0},"Voltage":1180` +
    `,"Power":${r.powerW},"Power_RT":${r.powerW + 4},"Uptime":${r.elapsedS + 600},"Power Current":${Math.round(r.powerW / 13.2)},"Power Fanspeed":9060` +
    `,"Error Code Count":0,"Factory Error Code Count":0,"Security Mode":0,"Liquid Cooling":false,"Hash Stable":true` +
    `,"Target Freq":600,"Target MHS":${fixed(r.idealGhs * 1000 * 0.95, 0)},"Env Temp":${fixed(envTemp, 2)},"Power Mode":"Normal","Firmware Version":"${version}"` +
    `,"CB Platform":"ALLWINNER_H6OS","CB Version":"V10","MAC":${str(whatsminerMac(r))},"Factory GHS":${Math.round(r.idealGhs)},"Power Limit":${limit}` +
    `,"Chip Temp Min":${fixed(Math.min(...temps.map((t) => t.min), 0) || 0, 2)},"Chip Temp Max":${fixed(Math.max(0, ...temps.map((t) => t.max)), 2)},"Chip Temp Avg":${fixed(temps.length ? temps.reduce((a, t) => a + t.avg, 0) / temps.length : 0, 2)}}],"id":1}`
  );
}

function devs(r: MinerReading): string {
  const rows = r.boards.map((b) => {
    const t = chipTemps(b);
    return (
      `{"ASC":${b.index},"Name":"SM","ID":${b.index},"Slot":${b.index},"Enabled":"Y","Status":"Alive","Temperature":${fixed(b.alive ? Math.max(...b.pcbC) : 0, 2)}` +
      `,"Chip Frequency":${b.alive ? 600 : 0},"Fan Speed In":${r.fansRpm[0] ?? 0},"Fan Speed Out":${r.fansRpm[1] ?? 0},"MHS av":${MHS(b.alive ? b.idealGhs * r.traits.derate : 0)},"MHS 5s":${MHS(b.hashrateGhs)}` +
      `,"Accepted":${Math.floor(r.accepted / r.boards.length)},"Rejected":0,"Hardware Errors":${b.hardwareErrors},"Upfreq Complete":1,"Effective Chips":${b.chips}` +
      `,"PCB SN":"HKM5CS${String(r.traits.index).padStart(6, '0')}K${b.index}","Chip Temp Min":${fixed(t.min, 2)},"Chip Temp Max":${fixed(t.max, 2)},"Chip Temp Avg":${fixed(t.avg, 2)}}`
    );
  });
  return `{"STATUS":${status(r, 9, `${rows.length} ASC(s)`)},"DEVS":[${rows.join(',')}],"id":1}`;
}

function devdetails(r: MinerReading): string {
  const model = `${shortModel(r)}.${firmwareOf(r).variant}`;
  const rows = r.boards.map((b) => `{"DEVDETAILS":${b.index},"Name":"SM","ID":${b.index},"Driver":"bitmicro","Kernel":"","Model":${str(model)}}`);
  return `{"STATUS":${status(r, 69, 'Device Details')},"DEVDETAILS":[${rows.join(',')}],"id":1}`;
}

function btminerMsg(r: MinerReading, msg: string): string {
  return `{"STATUS":"S","When":${r.when},"Code":131,"Msg":${msg},"Description":""}`;
}

export const whatsminerDialect: Dialect<'whatsminer'> = {
  name: 'whatsminer',
  description: () => DESCRIPTION,
  reply(command, r) {
    switch (command) {
      case 'summary':
        return summary(r);
      case 'devs':
      case 'edevs':
        return devs(r);
      case 'devdetails':
        return devdetails(r);
      case 'pools':
        return poolsReply(r, DESCRIPTION);
      case 'get_version': {
        const fw = firmwareOf(r);
        return btminerMsg(r, `{"api_ver":${str(fw.apiVersion)},"fw_ver":${str(fw.release)},"platform":"H616"}`);
      }
      case 'get_miner_info':
        return btminerMsg(r, `{"ip":"","proto":"dhcp","netmask":"255.255.255.0","dns":"","mac":${str(whatsminerMac(r))},"ledstat":"auto","gateway":"","hostname":"WhatsMiner"}`);
      default:
        return undefined;
    }
  },
  respond(request, r) {
    const command = request === 'invalid' ? undefined : request.command;
    if (request === 'invalid' || command === undefined) return `${btminerError(r, 23, 'invalid json')}\0`;
    if (typeof command !== 'string') return `${btminerError(r, 14, 'invalid cmd')}\0`;
    const commands = command.split('+');
    if (commands.length === 1) return `${this.reply(command, r) ?? btminerError(r, 14, 'invalid cmd')}\0`;
    if (!commands.every((c) => JOINABLE.has(c))) return `${btminerError(r, 14, 'invalid cmd')}\0`;
    return joinedReply(commands, (c) => this.reply(c, r)!);
  },
};
