/**
 * LuxOS on an Antminer, shaped like the field captures luxos_S19kPro_*: bmminer's `stats` layout under
 * a `{"CompileTime","Miner","Type"}` header, every Description "LUXminer <version>", `version` with a
 * `LUXminer` key, `devs` per board with the running `Profile`, `power` (`POWER[0].Watts`), `profiles`
 * (each with `Hashrate` TH/s and `Watts`) and `fans`.
 */
import type { Dialect } from '../wire.js';
import { fixed, statusBlock, str } from '../wire.js';
import type { MinerReading } from '../physics.js';
import { forkStatsReply, forkSummaryReply, poolsReply } from './antminer.js';

const VERSION = '2025.4.8.220305-57b389c7';
const DESCRIPTION = `LUXminer ${VERSION}`;
const COMPILE_TIME = 'Tue Apr  8 22:05:35 UTC 2025';

/** The profile the simulated unit runs: its stock frequency, at the model's nominal rate and power. */
export const LUXOS_PROFILE = '525MHz';
const PROFILE_STEPS = [-2, -1, 0, 1, 2] as const;

function header(r: MinerReading): string {
  return `{"CompileTime":${str(COMPILE_TIME)},"Miner":"2025.4.8.220305","Type":${str(r.traits.model.model)}}`;
}

function devs(r: MinerReading): string {
  const rows = r.boards.map(
    (b) =>
      `{"ASC":${b.index},"Accepted":${Math.floor(r.accepted / r.boards.length)},"Board":"BHB56903","Connector":"J${b.index + 7}","Device Elapsed":${r.elapsedS},"Enabled":"Y"` +
      `,"Hardware Errors":${b.hardwareErrors},"ID":${b.index},"IsRamping":false,"IsUserShutdown":false,"MHS 5s":${fixed(b.hashrateGhs * 1000, 4)},"MHS av":${fixed(b.hashrateGhs * 1000, 4)}` +
      `,"Name":"","Nominal MHS":${fixed(b.idealGhs * 1000, 1)},"Profile":${str(LUXOS_PROFILE)},"Rejected":0,"Status":"Alive","Temperature":${fixed(b.alive ? Math.max(...b.pcbC) : 0, 1)}}`,
  );
  return `{"DEVS":[${rows.join(',')}],"STATUS":[${statusBlock('S', r.when, 9, `${rows.length} ASC(s)`, DESCRIPTION)}],"id":1}`;
}

function profiles(r: MinerReading): string {
  const th = r.traits.model.nominal_hashrate_hs / 1e12;
  const w = r.traits.model.nominal_power_w;
  const rows = PROFILE_STEPS.map((step) => {
    const f = 525 + step * 25;
    const scale = f / 525;
    return `{"CanRestore":true,"Frequency":${f},"HasOverrides":false,"Hashrate":${fixed(th * scale, 1)},"IsDynamic":true,"IsTuned":${step === 0},"Profile Name":"${f}MHz","Step":"${step}","Voltage":13.2,"Watts":${Math.round(w * scale ** 1.4)}}`;
  });
  return `{"PROFILES":[${rows.join(',')}],"STATUS":[${statusBlock('S', r.when, 323, 'List profiles', DESCRIPTION)}],"id":1}`;
}

export const luxosDialect: Dialect<'luxos'> = {
  name: 'luxos',
  description: () => DESCRIPTION,
  reply(command, r) {
    switch (command) {
      case 'summary':
        return forkSummaryReply(r, DESCRIPTION);
      case 'stats':
        return forkStatsReply(r, { header: header(r), description: DESCRIPTION });
      case 'pools':
        return poolsReply(r, DESCRIPTION);
      case 'devs':
        return devs(r);
      case 'profiles':
        return profiles(r);
      case 'power':
        return `{"POWER":[{"PSU":false,"Watts":${r.powerW}}],"STATUS":[${statusBlock('S', r.when, 311, 'Power usage', DESCRIPTION)}],"id":1}`;
      case 'fans': {
        const rows = r.fansRpm.map((rpm, i) => `{"FAN":"FAN${i + 1}","ID":${i},"RPM":${rpm},"Speed":${Math.round((rpm / 7000) * 100)}}`);
        return `{"FANCTRL":[{"MinFans":${rows.length},"PowerOffSpeed":20}],"FANS":[${rows.join(',')}],"STATUS":[${statusBlock('S', r.when, 202, `${rows.length} Fan(s)`, DESCRIPTION)}],"id":1}`;
      }
      case 'version':
        return `{"STATUS":[${statusBlock('S', r.when, 22, 'LUXminer versions', DESCRIPTION)}],"VERSION":[{"API":"3.7","CompileTime":${str(COMPILE_TIME)},"LUXminer":${str(VERSION)},"Miner":"2025.4.8.220305","Type":${str(r.traits.model.model)}}],"id":1}`;
      default:
        return undefined;
    }
  },
};
