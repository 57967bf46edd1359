/**
 * Auradine Teraflux's CGMiner-like socket (GCMiner on FluxOS), shaped like the asic-rs AT1500 captures
 * in ../shared/fixtures/auradine: `summary` in MH/s, `devs` one `ASICBoard` row per hash board
 * (IDs from 1), `pools`, and `version` naming GCMiner. Its own sections (`ipreport`, `psu`, `fan`,
 * `temperature`, `mode`) are the web API's (simulator/protocols/auradine.ts). No collector dialect
 * claims it: the generic cgminer reader does.
 */
import type { MinerReading } from '../physics.js';
import type { Dialect } from '../wire.js';
import { fixed, statusBlock } from '../wire.js';
import { poolsReply } from './antminer.js';

const DESCRIPTION = 'GCMiner-2023-05.24-0ce5e7cc93a3815240fa189d0beb44b8c834936c';

function reply(section: string, code: number, msg: string, r: MinerReading, rows: string): string {
  return `{"STATUS":[${statusBlock('S', r.when, code, msg, DESCRIPTION)}],"${section}":[${rows}],"id":1}`;
}

export const auradineRpcDialect: Dialect<'cgminer'> = {
  name: 'cgminer',
  description: () => DESCRIPTION,
  reply(command, r) {
    switch (command) {
      case 'summary':
        return reply(
          'SUMMARY',
          11,
          'Summary',
          r,
          `{"Accepted":${r.accepted},"Elapsed":${r.elapsedS},"Hardware Errors":${r.hardwareErrors},"MHS 5s":${fixed(r.ghs5s * 1000, 4)},"MHS av":${fixed(r.ghsAv * 1000, 4)},"Rejected":${r.rejected}}`,
        );
      case 'devs':
        return reply(
          'DEVS',
          9,
          `${r.boards.length} Dev(s)`,
          r,
          r.boards
            .map(
              (b) =>
                `{"DEV":${b.index + 1},"Enabled":true,"ID":${b.index + 1},"MHS 5s":${fixed(b.hashrateGhs * 1000, 1)},"Name":"ASICBoard","Status":"${b.alive ? 'Alive' : 'Dead'}","Temperature":${fixed(b.alive ? b.pcbC[0] : 0, 2)}}`,
            )
            .join(','),
        );
      case 'pools':
        return poolsReply(r, DESCRIPTION);
      case 'version':
        return reply('VERSION', 22, 'GCMiner versions', r, '{"API":"1.0","GCMiner":"0.5"}');
      default:
        return undefined;
    }
  },
};
