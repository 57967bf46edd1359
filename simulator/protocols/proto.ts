/**
 * A Proto Rig on ProtoOS 1.8 answering its REST API v1 (port 80), shaped like the vendor-simulator
 * replies asic-rs keeps (../shared/fixtures/proto) and the MDK OpenAPI document: `system`, `network`
 * and `hardware` open to anyone; `POST /api/v1/auth/login` with `{"password"}` gives
 * `{"access_token", "refresh_token"}`, sent back as `Authorization: Bearer …` for `mining`,
 * `telemetry` (`?level=miner,hashboard,psu`: values with their units), `cooling`, `pools`, `errors`.
 * A missing or unknown token gets HTTP 401. Two PSUs share the wall power; boards are slots 1 on,
 * telemetry indices 0 on.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { MinerReading } from '../physics.js';
import { jsonReplier, readLoginBody } from './http-json.js';
import type { ProtocolTwin, ServedMiner } from './types.js';

/** The password the demo's `miner_credentials.protos` holds: a rig takes one at onboarding, none is shipped. */
export const PROTO_TWIN_PASSWORD = 'proto-demo-pass';
const PSUS = 2;
/** What the boards draw of the wall power: the rest is PSU conversion loss. */
const BOARD_SHARE = 0.94;
const hex = (n: number) => n.toString(16).padStart(2, '0');
const sn = (r: MinerReading) => `PROTO-SIM-${String(r.traits.index).padStart(8, '0')}`;
const round = (n: number, places = 3) => Math.round(n * 10 ** places) / 10 ** places;
const metric = (value: number, unit: string) => ({ unit, value });

const OPEN: Readonly<Record<string, (r: MinerReading) => unknown>> = {
  system: (r) => ({
    'system-info': {
      board: 'C3',
      cb_sn: sn(r),
      manufacturer: 'Proto',
      model: 'Rig',
      os: { git_hash: 'abc123def456', hostname: `proto-miner-${hex(r.traits.index & 0xff)}`, name: 'ProtoOS', variant: 'release', version: '1.8.0' },
      product_name: 'Proto Rig',
      soc: 'STM32MP157F',
      uptime_seconds: r.elapsedS,
    },
  }),
  network: (r) => ({
    'network-info': {
      dhcp: true,
      hostname: `proto-miner-${hex(r.traits.index & 0xff)}`,
      mac: ['02', '00', '00', hex(r.traits.seed & 0xff), hex((r.traits.index >> 8) & 0xff), hex(r.traits.index & 0xff)].join(':').toUpperCase(),
    },
  }),
  hardware: (r) => ({
    'hardware-info': {
      'cb-info': { board_id: 'CB-001', machine_name: 'Rig', serial_number: sn(r) },
      'fans-info': r.fansRpm.map((_, i) => ({ max_rpm: 6000, min_rpm: 1000, name: `Fan ${i + 1}`, slot: i + 1 })),
      'hashboards-info': r.boards.map((b) => ({
        board: 'B4',
        hb_sn: `HB-${sn(r)}-${b.index}`,
        mining_asic: 'BZM',
        mining_asic_count: b.chipsExpected,
        port: b.index,
        slot: b.index + 1,
      })),
      'psus-info': Array.from({ length: PSUS }, (_, i) => ({ manufacturer: 'Proto', model: 'PSU-3600W', psu_sn: `PSU-${sn(r)}-${i}`, slot: i + 1 })),
    },
  }),
};

const AUTHED: Readonly<Record<string, (r: MinerReading, level: ReadonlySet<string>) => unknown>> = {
  mining: (r) => {
    const mining = r.boards.filter((b) => b.alive).length;
    return {
      'mining-status': {
        average_asic_temp_c: round(avg(r.boards.filter((b) => b.alive).flatMap((b) => b.chipC))),
        average_hashrate_ghs: r.ghsAv,
        hashboards_installed: r.boards.length,
        hashboards_mining: mining,
        hashrate_ghs: r.ghs5s,
        hw_errors: r.hardwareErrors,
        ideal_hashrate_ghs: r.idealGhs,
        mining_uptime_s: r.elapsedS,
        power_target_watts: Math.round(r.traits.model.nominal_power_w),
        power_usage_watts: round(r.powerW * BOARD_SHARE),
        reboot_uptime_s: r.elapsedS,
        status: mining === r.boards.length ? 'Mining' : 'DegradedMining',
      },
    };
  },
  telemetry: (r, level) => ({
    timestamp: new Date(r.when * 1000).toISOString(),
    ...(level.has('miner') && {
      miner: {
        hashrate: metric(r.ghs5s / 1000, 'TH/s'),
        power: metric(round(r.powerW * BOARD_SHARE), 'W'),
        temperature: metric(round(avg(r.boards.flatMap((b) => b.pcbC))), '°C'),
      },
    }),
    ...(level.has('hashboard') && {
      hashboards: r.boards.map((b) => ({
        hashrate: metric(b.hashrateGhs / 1000, 'TH/s'),
        index: b.index,
        power: metric(b.alive ? round((r.powerW * BOARD_SHARE) / r.boards.filter((x) => x.alive).length) : 0, 'W'),
        serial_number: `HB-${sn(r)}-${b.index}`,
        temperature: b.alive
          ? { average: round(avg(b.pcbC)), inlet: Math.min(b.pcbC[0], b.pcbC[1]), outlet: Math.max(b.pcbC[2], b.pcbC[3]), unit: '°C' }
          : { average: 0, inlet: 0, outlet: 0, unit: '°C' },
      })),
    }),
    ...(level.has('psu') && {
      psus: Array.from({ length: PSUS }, (_, i) => ({
        index: i,
        power: { input: r.powerW / PSUS, output: round((r.powerW * BOARD_SHARE) / PSUS), unit: 'W' },
        serial_number: `PSU-${sn(r)}-${i}`,
        temperature: { ambient: 30, average: 38, hotspot: 45 + i, unit: '°C' },
      })),
    }),
  }),
  cooling: (r) => ({
    'cooling-status': { fan_mode: 'Auto', fans: r.fansRpm.map((rpm, i) => ({ rpm, slot: i + 1, speed_percentage: 60 })), speed_percentage: 60, target_temperature_c: 50 },
  }),
  pools: (r) => ({
    pools: [
      {
        accepted: r.accepted,
        id: 0,
        name: 'Primary',
        priority: 0,
        rejected: r.rejected,
        status: 'Active',
        url: 'stratum+tcp://btc.pool.example:3333',
        user: `farm.sim${String(r.traits.index).padStart(5, '0')}`,
      },
      {
        accepted: 0,
        id: 1,
        name: 'Backup',
        priority: 1,
        rejected: 0,
        status: 'Idle',
        url: 'stratum+tcp://backup.pool.example:3333',
        user: `farm.sim${String(r.traits.index).padStart(5, '0')}`,
      },
    ],
  }),
  errors: (r) =>
    r.boards
      .filter((b) => !b.alive)
      .map((b) => ({ error_code: 'HashboardNotMining', message: `Hashboard ${b.index + 1} is not mining`, slot: b.index + 1, source: 'hashboard', timestamp: r.when })),
};

function avg(values: readonly number[]): number {
  return values.length ? values.reduce((a, v) => a + v, 0) / values.length : 0;
}

export const protoTwin: ProtocolTwin<'proto'> = {
  scheme: 'proto',
  defaultPort: 80,
  vendors: ['Proto'],
  createServer(miner: ServedMiner) {
    const tokens = new Set<string>();
    return createServer(async (req, res) => {
      if (miner.hung()) return;
      const send = jsonReplier(res, miner);
      const url = new URL(req.url ?? '/', 'http://rig');
      const name = url.pathname.replace(/^\/api\/v1\//, '');
      if (name === 'auth/login' && req.method === 'POST') {
        let login: { password?: unknown } = {};
        try {
          login = JSON.parse(await readLoginBody(req)) as typeof login;
        } catch {}
        if (login.password !== PROTO_TWIN_PASSWORD) return send(401, { message: 'Invalid password' });
        const token = randomBytes(24).toString('base64url');
        tokens.add(token);
        return send(200, { access_token: token, refresh_token: randomBytes(24).toString('base64url') });
      }
      const open = OPEN[name];
      if (open) return send(200, open(miner.read()));
      const authed = AUTHED[name];
      if (!authed) return send(404, { message: 'Not Found' });
      if (!tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''))) return send(401, { message: 'Unauthorized' });
      send(200, authed(miner.read(), new Set((url.searchParams.get('level') ?? 'miner').split(','))));
    });
  },
};
