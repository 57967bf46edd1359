/**
 * An Antminer on Braiins OS 26.04 answering its public REST API (port 80), shaped like the asic-rs
 * captures in ../shared/fixtures/braiins-rest: `POST /api/v1/auth/login` with `{"username","password"}`
 * gives `{"token": …}`, sent back as the bare `Authorization` header; every value carries its unit
 * (`gigahash_per_second`, `watt`, `degree_c`), board ids are strings from "1", and `pools` is a list of
 * pool groups. A missing or unknown token gets HTTP 401. Account root/root, as asic-rs assumes.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { MinerReading } from '../physics.js';
import { jsonReplier, readLoginBody } from './http-json.js';
import type { ProtocolTwin, ServedMiner } from './types.js';

const ACCOUNT = { username: 'root', password: 'root' } as const;
const gh = (value: number) => ({ gigahash_per_second: value });
const hex = (n: number) => n.toString(16).padStart(2, '0');

const READS: Readonly<Record<string, (r: MinerReading) => unknown>> = {
  'miner/details': (r) => ({
    bos_version: { bos_plus: true, current: '2026-04-14-0-912d084c-26.04-plus' },
    bosminer_uptime_s: r.elapsedS,
    hostname: 'Antminer',
    mac_address: ['02', '8f', '77', hex(r.traits.seed & 0xff), hex((r.traits.index >> 8) & 0xff), hex(r.traits.index & 0xff)].join(':'),
    miner_identity: { brand: 1, miner_model: r.traits.model.model, name: r.traits.model.model },
    serial_number: `THQSIM${String(r.traits.index).padStart(8, '0')}`,
    sticker_hashrate: gh(r.traits.model.nominal_hashrate_hs / 1e9),
  }),
  'miner/stats': (r) => ({
    miner_stats: { nominal_hashrate: gh(r.idealGhs), real_hashrate: { last_5s: gh(r.ghs5s), last_30m: gh(r.ghs30m), since_restart: gh(r.ghsAv) } },
    pool_stats: { accepted_shares: r.accepted, rejected_shares: r.rejected, stale_shares: r.stale },
    power_stats: { approximated_consumption: { watt: r.powerW } },
  }),
  'miner/hw/hashboards': (r) => ({
    hashboards: r.boards.map((b) => ({
      board_temp: { degree_c: b.alive ? Math.max(...b.pcbC) : 0 },
      chips_count: b.chips,
      enabled: b.alive,
      highest_chip_temp: { temperature: { degree_c: b.alive ? Math.max(...b.chipC) : 0 } },
      id: String(b.index + 1),
      stats: { nominal_hashrate: gh(b.idealGhs), real_hashrate: { last_5s: gh(b.hashrateGhs) } },
    })),
  }),
  'cooling/state': (r) => ({ fans: r.fansRpm.map((rpm, position) => ({ position, rpm, target_speed_ratio: 0.92 })) }),
  pools: (r) => [
    {
      name: 'Default',
      pools: [
        {
          active: true,
          alive: true,
          enabled: true,
          stats: { accepted_shares: r.accepted, rejected_shares: r.rejected, stale_shares: r.stale },
          url: 'stratum+tcp://btc.pool.example:3333',
          user: `farm.sim${String(r.traits.index).padStart(5, '0')}`,
        },
      ],
    },
  ],
  'performance-tuner/state': (r) => ({ mode_state: { powertargetmodestate: { current_target: { watt: Math.round(r.traits.model.nominal_power_w) } } } }),
};

export const braiinsRestTwin: ProtocolTwin<'braiins-rest'> = {
  scheme: 'braiins-rest',
  defaultPort: 80,
  vendors: ['Bitmain'],
  createServer(miner: ServedMiner) {
    const tokens = new Set<string>();
    return createServer(async (req, res) => {
      if (miner.hung()) return;
      const send = jsonReplier(res, miner);
      const path = (req.url ?? '').split('?', 1)[0]!;
      if (path === '/api/v1/auth/login' && req.method === 'POST') {
        let login: { username?: unknown; password?: unknown } = {};
        try {
          login = JSON.parse(await readLoginBody(req)) as typeof login;
        } catch {}
        if (login.username !== ACCOUNT.username || login.password !== ACCOUNT.password) return send(401, { code: 16, message: 'invalid credentials' });
        const token = randomBytes(16).toString('hex');
        tokens.add(token);
        return send(200, { timeout_s: 3600, token });
      }
      const read = READS[path.replace(/^\/api\/v1\//, '')];
      if (!read) return send(404, { code: 5, message: 'Not Found' });
      if (!tokens.has(req.headers.authorization ?? '')) return send(401, { code: 16, message: 'unauthenticated' });
      send(200, read(miner.read()));
    });
  },
};
