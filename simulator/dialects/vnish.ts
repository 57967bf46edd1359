/**
 * VNish on an Antminer: stock bmminer's replies with the firmware named in the `Type` header, as the
 * field capture antminer-vnish_S9_stats has it ("Antminer S9 (vnish 3.8.6)"), and — as newer VNish
 * builds do — watts per chain in the chain row (`chain_power1` … with a unit) and their total in `power`.
 */
import type { Dialect } from '../wire.js';
import { str } from '../wire.js';
import type { MinerReading } from '../physics.js';
import { antminerDialect, forkStatsReply } from './antminer.js';

const RELEASE = '1.2.6';
const DESCRIPTION = 'cgminer 4.11.1';

function header(r: MinerReading): string {
  return `{"Cgminer":"4.11.1","Miner":"26.0.1.3","CompileTime":"Fri Mar 15 11:02:13 CST 2024","Type":${str(`${r.traits.model.model} (vnish ${RELEASE})`)}}`;
}

function powerKeys(r: MinerReading): string {
  const alive = r.boards.filter((b) => b.alive).length;
  const perChain = r.boards.map((b) => `"chain_power${b.index + 1}":"${b.alive && alive ? (r.powerW / alive).toFixed(1) : '0.0'} W"`);
  return `${perChain.join(',')},"power":${r.powerW}`;
}

export const vnishDialect: Dialect<'vnish'> = {
  name: 'vnish',
  description: () => DESCRIPTION,
  reply(command, r) {
    if (command === 'stats') return forkStatsReply(r, { header: header(r), description: DESCRIPTION, extraKeys: powerKeys(r) });
    if (command === 'version')
      return `{"STATUS":[{"STATUS":"S","When":${r.when},"Code":22,"Msg":"CGMiner versions","Description":"${DESCRIPTION}"}],"VERSION":[{"CGMiner":"4.11.1","API":"3.7","Miner":"26.0.1.3","CompileTime":"Fri Mar 15 11:02:13 CST 2024","Type":${str(`${r.traits.model.model} (vnish ${RELEASE})`)}}],"id":1}`;
    return antminerDialect.reply(command, r);
  },
};
