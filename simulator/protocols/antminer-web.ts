/**
 * An Antminer's stock web API (lighttpd + CGI on port 80), shaped like the S23 Hyd. and S21 captures in
 * ../shared/fixtures/antminer-web: every page behind HTTP Digest (realm "antMiner Configuration",
 * MD5, qop=auth) with the factory account root/root; `get_system_info.cgi`, `stats.cgi` (per-chain
 * `rate_real` / `rate_ideal` in GH/s, `temp_chip` / `temp_pcb` quads, `watt`), `summary.cgi` (with its
 * `status` list) and `pools.cgi`. An unknown page is a 404; a wrong login another 401 with a new nonce.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { digestMatches } from '../../collectors/antminer-web/digest.js';
import type { MinerReading } from '../physics.js';
import type { ProtocolTwin, ServedMiner } from './types.js';

const REALM = 'antMiner Configuration';
const FACTORY_ACCOUNT = { user: 'root', password: 'root' } as const;
const COMPILE_TIME = 'Fri Jun 26 09:24:23 CST 2026';

function hex(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

function info(r: MinerReading): Record<string, unknown> {
  return { CompileTime: COMPILE_TIME, miner_version: 'platform[AML]', type: r.traits.model.model };
}

function status(r: MinerReading, msg: string): Record<string, unknown> {
  return { Msg: msg, STATUS: 'S', api_version: '1.0.0', when: r.when };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

const PAGES: Readonly<Record<string, (r: MinerReading) => unknown>> = {
  '/cgi-bin/get_system_info.cgi': (r) => ({
    firmware_type: 'Release',
    hostname: 'Antminer',
    macaddr: ['02', '55', '97', hex(r.traits.seed & 0xff), hex((r.traits.index >> 8) & 0xff), hex(r.traits.index & 0xff)].join(':'),
    minertype: r.traits.model.model,
    netdevice: 'eth0',
    nettype: 'DHCP',
    serinum: `SMTSIM${String(r.traits.seed % 100).padStart(2, '0')}${String(r.traits.index).padStart(8, '0')}`,
    system_filesystem_version: 'FR-1.12(251009-S21)',
    system_mode: 'GNU/Linux',
  }),
  '/cgi-bin/stats.cgi': (r) => ({
    INFO: { ...info(r), miner_type_enum: 1 },
    STATS: [
      {
        chain: r.boards.map((b) => ({
          asic_num: b.chips,
          freq_avg: b.alive ? b.frequencyMhz : 0,
          index: b.index,
          rate_ideal: round2(b.idealGhs),
          rate_real: round2(b.hashrateGhs),
          sn: 'REDACTED-SERIAL',
          temp_chip: b.alive ? b.chipC : [0, 0, 0, 0],
          temp_pcb: b.alive ? b.pcbC : [0, 0, 0, 0],
        })),
        chain_num: r.boards.length,
        elapsed: r.elapsedS,
        fan: r.fansRpm,
        fan_num: r.fansRpm.length,
        rate_5s: round2(r.ghs5s),
        rate_avg: round2(r.ghsAv),
        rate_ideal: round2(r.idealGhs),
        rate_unit: 'GH/s',
        watt: r.powerW,
      },
    ],
    STATUS: status(r, 'stats'),
  }),
  '/cgi-bin/summary.cgi': (r) => ({
    INFO: info(r),
    STATUS: status(r, 'summary'),
    SUMMARY: [
      {
        bestshare: r.bestShare,
        elapsed: r.elapsedS,
        hw_all: r.hardwareErrors,
        rate_30m: round2(r.ghs30m),
        rate_5s: round2(r.ghs5s),
        rate_avg: round2(r.ghsAv),
        rate_ideal: round2(r.idealGhs),
        rate_unit: 'GH/s',
        status: ['rate', 'network', 'fans', 'temp'].map((type) => ({ code: 0, msg: '', status: 's', type })),
      },
    ],
  }),
  '/cgi-bin/pools.cgi': (r) => ({
    INFO: info(r),
    POOLS: ['stratum+tcp://btc.pool.example:3333', 'stratum+tcp://btc-backup.pool.example:3333'].map((url, index) => ({
      accepted: index === 0 ? r.accepted : 0,
      index,
      priority: index,
      rejected: index === 0 ? r.rejected : 0,
      stale: index === 0 ? r.stale : 0,
      status: 'Alive',
      url,
      user: `farm.sim${String(r.traits.index).padStart(5, '0')}`,
    })),
    STATUS: status(r, 'pools'),
  }),
};

export const antminerWebTwin: ProtocolTwin<'antminer-web'> = {
  scheme: 'antminer-web',
  defaultPort: 80,
  vendors: ['Bitmain'],
  createServer(miner: ServedMiner) {
    return createServer((req, res) => {
      if (miner.hung()) return;
      if (!digestMatches(req.headers.authorization, REALM, FACTORY_ACCOUNT.user, FACTORY_ACCOUNT.password, req.method ?? 'GET')) {
        res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", nonce="${randomBytes(16).toString('hex')}", qop="auth"`, 'content-type': 'text/html' });
        res.end('<html><body>401 Unauthorized</body></html>');
        return;
      }
      const page = PAGES[(req.url ?? '').split('?', 1)[0]!];
      if (!page) {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<html><body>404 Not Found</body></html>');
        return;
      }
      let body = JSON.stringify(page(miner.read()));
      if (miner.malformed()) body = body.slice(0, Math.floor(body.length * 0.6));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  },
};
