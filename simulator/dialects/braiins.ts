/**
 * Braiins OS+ (bosminer) on an Antminer, shaped like the field captures braiins-bosminer_S9_*: serde's
 * alphabetically sorted keys, `STATUS` blocks with a Description naming bosminer, `devs` per chain with
 * `Nominal MHS`, `temps` (`Board` / `Chip`), `fans` (`RPM` / `Speed` %), `devdetails` (`Model`, `Chips`),
 * `tunerstatus` (`PowerLimit`, `ApproximateMinerPowerConsumption`, per-chain tuner state) and `version`
 * (`BOSminer`). Every reply ends in a newline instead of cgminer's NUL.
 */
import type { Dialect } from '../wire.js';
import { str } from '../wire.js';
import type { MinerReading } from '../physics.js';
import { poolsReply } from './antminer.js';

const VERSION = 'bosminer-plus-tuner 0.9.0-1a2b3c4d';
const DESCRIPTION = `BOSminer ${VERSION}`;

/** A float the way serde_json writes an f64: always with a fraction. */
function f64(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

function status(r: MinerReading, code: number, msg: string, kind = 'S'): string {
  return `[{"Code":${code},"Description":${str(DESCRIPTION)},"Msg":${str(msg)},"STATUS":"${kind}","When":${r.when}}]`;
}

/** The power budget the tuner was given: the model's nominal, rounded up to 100 W. */
export function braiinsPowerLimit(r: MinerReading): number {
  return Math.ceil(r.traits.model.nominal_power_w / 100) * 100;
}

function summary(r: MinerReading): string {
  const mhs = (ghs: number) => f64(Math.round(ghs * 1000 * 1000) / 1000);
  return (
    `{"STATUS":${status(r, 11, 'Summary')},"SUMMARY":[{"Accepted":${r.accepted},"Best Share":${r.bestShare},"Device Hardware%":0.0,"Device Rejected%":0.0` +
    `,"Difficulty Accepted":${f64(r.accepted * r.poolDifficulty)},"Difficulty Rejected":${f64(r.rejected * r.poolDifficulty)},"Difficulty Stale":${f64(r.stale * r.poolDifficulty)}` +
    `,"Discarded":0,"Elapsed":${r.elapsedS},"Found Blocks":0,"Get Failures":0,"Getworks":${Math.floor(r.elapsedS / 33)},"Hardware Errors":${r.hardwareErrors},"Last getwork":${r.when}` +
    `,"Local Work":${r.elapsedS * 4655},"MHS 15m":${mhs(r.ghsAv)},"MHS 1m":${mhs(r.ghs30m)},"MHS 24h":${mhs(r.ghsAv)},"MHS 5m":${mhs(r.ghs30m)},"MHS 5s":${mhs(r.ghs5s)},"MHS av":${mhs(r.ghsAv)}` +
    `,"Network Blocks":0,"Pool Rejected%":0.0,"Pool Stale%":0.0,"Rejected":${r.rejected},"Remote Failures":0,"Stale":${r.stale},"Total MH":${f64(Math.round(r.ghsAv * 1000 * r.elapsedS))}` +
    `,"Utility":${f64(Math.round(((r.accepted * 60) / r.elapsedS) * 1000) / 1000)},"Work Utility":${f64(Math.round((r.ghsAv * 60) / 4.294967296))}}],"id":1}`
  );
}

function devs(r: MinerReading): string {
  const rows = r.boards.map(
    (b) =>
      `{"ASC":${b.index},"Accepted":${Math.floor(r.accepted / r.boards.length)},"Device Elapsed":${r.elapsedS},"Device Hardware%":0.0,"Device Rejected%":0.0,"Enabled":"Y"` +
      `,"Hardware Errors":${b.hardwareErrors},"ID":${b.index + 1},"MHS 5s":${f64(b.hashrateGhs * 1000)},"MHS av":${f64(b.hashrateGhs * 1000)},"Name":"","Nominal MHS":${f64(b.idealGhs * 1000)}` +
      `,"Rejected":0,"Status":"Alive","Temperature":${f64(b.alive ? Math.max(...b.pcbC) : 0)}}`,
  );
  return `{"STATUS":${status(r, 9, `${rows.length} ASC(s)`)},"DEVS":[${rows.join(',')}],"id":1}`;
}

function devdetails(r: MinerReading): string {
  const rows = r.boards.map(
    (b) =>
      `{"Chips":${b.chips},"Cores":${b.chips * 4},"DEVDETAILS":${b.index},"Driver":"BitmainAM3","Frequency":${f64(b.frequencyMhz)},"ID":${b.index + 1},"Kernel":"","Model":${str(r.traits.model.model)},"Name":"","Voltage":13.6}`,
  );
  return `{"STATUS":${status(r, 69, 'Device Details')},"DEVDETAILS":[${rows.join(',')}],"id":1}`;
}

function temps(r: MinerReading): string {
  const rows = r.boards.map((b) => `{"Board":${f64(b.alive ? Math.max(...b.pcbC) : 0)},"Chip":${f64(b.alive ? Math.max(...b.chipC) : 0)},"ID":${b.index + 1},"TEMP":${b.index}}`);
  return `{"STATUS":${status(r, 201, `${rows.length} Temp(s)`)},"TEMPS":[${rows.join(',')}],"id":1}`;
}

function fans(r: MinerReading): string {
  const rows = r.fansRpm.map((rpm, i) => `{"FAN":${i},"ID":${i},"RPM":${rpm},"Speed":${Math.round((rpm / 7000) * 100)}}`);
  return `{"STATUS":${status(r, 202, `${rows.length} Fan(s)`)},"FANS":[${rows.join(',')}],"id":1}`;
}

function tunerstatus(r: MinerReading): string {
  const chains = r.boards.map(
    (b) =>
      `{"ApproximatePowerConsumptionWatt":${b.alive ? Math.round(r.powerW / r.boards.filter((x) => x.alive).length) : 0},"HashchainIndex":${b.index + 1},"Iteration":0,"LoadedProfile":true` +
      `,"PowerLimitWatt":${Math.round(braiinsPowerLimit(r) / r.boards.length)},"StageElapsed":${r.elapsedS},"Status":"Stable","TunerRunning":false}`,
  );
  return (
    `{"STATUS":${status(r, 22, 'Tuner Status')},"TUNERSTATUS":[{"ApproximateChainPowerConsumption":${Math.round(r.powerW * 0.93)},"ApproximateMinerPowerConsumption":${r.powerW}` +
    `,"DynamicPowerScaling":"Disabled","PowerLimit":${braiinsPowerLimit(r)},"TunerChainStatus":[${chains.join(',')}]}],"id":1}`
  );
}

function stats(r: MinerReading): string {
  return `{"STATUS":${status(r, 70, 'BOSminer stats')},"STATS":[{"Calls":0,"Elapsed":${r.elapsedS},"ID":"Chain0","Max":0.0,"Min":99999999.0,"STATS":0,"Wait":0.0}],"id":1}`;
}

function invalid(r: MinerReading): string {
  return `{"STATUS":${status(r, 14, 'Invalid command', 'E')},"id":1}`;
}

export const braiinsDialect: Dialect<'braiins'> = {
  name: 'braiins',
  description: () => DESCRIPTION,
  reply(command, r) {
    switch (command) {
      case 'summary':
        return summary(r);
      case 'stats':
        return stats(r);
      case 'devs':
        return devs(r);
      case 'devdetails':
        return devdetails(r);
      case 'temps':
        return temps(r);
      case 'fans':
        return fans(r);
      case 'tunerstatus':
        return tunerstatus(r);
      case 'pools':
        return poolsReply(r, DESCRIPTION);
      case 'version':
        return `{"STATUS":${status(r, 22, 'BOSminer versions')},"VERSION":[{"API":"3.7","BOSminer":${str(VERSION)}}],"id":1}`;
      default:
        return undefined;
    }
  },
  respond(request, r) {
    if (request === 'invalid' || typeof request.command !== 'string') return `${invalid(r)}\n`;
    const commands = request.command.split('+');
    if (commands.length === 1) return `${this.reply(commands[0]!, r) ?? invalid(r)}\n`;
    return `{${commands.map((c) => `${str(c)}:[${this.reply(c, r) ?? invalid(r)}]`).join(',')},"id":1}\n`;
  },
};
