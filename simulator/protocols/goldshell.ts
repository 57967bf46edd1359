/**
 * A Goldshell's web API (port 80) on firmware 2.2, shaped like the captures in
 * collectors/goldshell/testdata (an SC5 Pro II and an SC Lite, crProductGuy/goldshell-box-tools-productguy):
 * `GET /mcb/status` answers without a login, `"model": "Goldshell-<MODEL>"` with the spaces taken
 * out (the SC5 Pro II's roman Ⅱ as one character); `GET /user/login?username&password&cipher` answers
 * `{"JWT Token": …}`, the same token every time, as the real firmware's is; every other endpoint wants
 * it as `Authorization: Bearer …` (or bare) and answers 401 without it. `/mcb/cgminer?cgminercmd=devs`
 * gives one row per board, `hashrate` in MH/s, `temp` as "77.7 °C", the machine's fans repeated on every
 * row as "3180 rpm / 3120 rpm"; `/mcb/setting`'s `name` is the MAC with a leading space; `/mcb/pools` a
 * list with the pool password in it. Quirk kept: the token check refuses a request now and then while
 * it reloads its key (here the third guarded request, then every 200th), so a client must retry a 401
 * once. Factory account admin / 123456789 (pyasic's and asic-rs's default).
 */
import { createServer } from 'node:http';
import type { MinerReading } from '../physics.js';
import { jsonReplier } from './http-json.js';
import type { ProtocolTwin, ServedMiner } from './types.js';

const FACTORY_ACCOUNT = { user: 'admin', password: '123456789' } as const;
/** The factory password as the web UI enciphers it (`cipher=true`), as pyasic sends it. */
const FACTORY_CIPHERED = 'bbad7537f4c8b6ea31eea0b3d760e257';
const TOKEN = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJzaW11bGF0ZWQifQ.c2ltdWxhdGVkLXNpZ25hdHVyZQ';
const REFUSE_FIRST = 3;
const REFUSE_EVERY = 200;
const MHS_PER_GHS = 1000;

const hex = (n: number) => n.toString(16).padStart(2, '0').toUpperCase();

/** `/mcb/status`'s model: "Goldshell-KD6", "Goldshell-KDBoxPro", and the SC5 Pro II's "Goldshell-SC5ProⅡ". */
function reportedModel(model: string): string {
  return `Goldshell-${model
    .replace(/^Goldshell\s+/, '')
    .replace(/\s+II$/, '\u2161')
    .replace(/\s+/g, '')}`;
}

function devs(r: MinerReading): unknown {
  const boards = r.boards.length || 1;
  const fans = r.fansRpm.map((rpm) => `${rpm} rpm`).join(' / ');
  return {
    status: 2,
    data: r.boards.map((b) => ({
      valid: 20,
      av_hashrate: Math.round(b.idealGhs * MHS_PER_GHS * 1000) / 1000,
      rejected: Math.floor(r.rejected / boards),
      time: r.elapsedS,
      id: b.index,
      powerplan: 0,
      hwerrors: b.hardwareErrors,
      fanspeed: fans,
      accepted: Math.floor(r.accepted / boards),
      CPB_name: 'NULL',
      hwerr_ration: 0.001173,
      nonces: Math.floor(r.accepted / boards) * 128,
      hashrate: Math.round(b.hashrateGhs * MHS_PER_GHS * 1000) / 1000,
      temp: `${b.alive ? Math.max(...b.pcbC).toFixed(1) : '0.0'} \u00b0C`,
      minerstatus: 0,
    })),
  };
}

function setting(r: MinerReading): unknown {
  const mac = ['28', 'E2', '97', hex(r.traits.seed & 0xff), hex((r.traits.index >> 8) & 0xff), hex(r.traits.index & 0xff)].join(':');
  return {
    manualPowerplan: '700 MHz 11750 V 30 RPM 30 RPM PV 11900',
    ledcontrol: false,
    name: ` ${mac}`,
    tempcontrol: true,
    select: 0,
    powerplans: [
      { level: 0, info: '700 MHz 11750 V 30 RPM 30 RPM PV 11900' },
      { level: 3, info: '0 MHz 0 V 100 RPM 100 RPM' },
    ],
    manual: false,
    version: 'v1.0',
  };
}

function pools(r: MinerReading): unknown {
  const user = `farm.sim${String(r.traits.index).padStart(5, '0')}`;
  return [
    { url: 'stratum+tcp://kda.pool.example:3700', legal: true, active: true, dragid: 0, user, 'pool-priority': 0, pass: 'x' },
    { url: 'stratum+tcp://kda-backup.pool.example:3700', legal: true, active: false, dragid: 1, user, 'pool-priority': 1, pass: 'x' },
  ];
}

const GUARDED: Readonly<Record<string, (r: MinerReading) => unknown>> = {
  '/mcb/cgminer?cgminercmd=devs': devs,
  '/mcb/setting': setting,
  '/mcb/pools': pools,
};

export const goldshellTwin: ProtocolTwin<'goldshell'> = {
  scheme: 'goldshell',
  defaultPort: 80,
  vendors: ['Goldshell'],
  createServer(miner: ServedMiner) {
    let guardedRequests = 0;
    return createServer((req, res) => {
      if (miner.hung()) return;
      const url = new URL(req.url ?? '/', 'http://miner');
      const send = jsonReplier(res, miner, { 'access-control-allow-origin': '*' });
      if (url.pathname === '/mcb/status') {
        const r = miner.read();
        return send(200, { hardware: '30.50.SA', model: reportedModel(r.traits.model.model), mcbversion: 'MCB_V3_3', firmware: '2.2.0' });
      }
      if (url.pathname === '/user/login') {
        const q = url.searchParams;
        const password = q.get('cipher') === 'true' ? q.get('password') === FACTORY_CIPHERED : q.get('password') === FACTORY_ACCOUNT.password;
        if (q.get('username') !== FACTORY_ACCOUNT.user || !password) return send(401, { error: 'Invalid username or password' });
        return send(200, { 'JWT Token': TOKEN });
      }
      const section = GUARDED[`${url.pathname}${url.search}`];
      if (!section) return send(404, { error: 'Not Found' });
      const auth = req.headers['authorization'];
      guardedRequests += 1;
      const race = guardedRequests === REFUSE_FIRST || guardedRequests % REFUSE_EVERY === 0;
      if ((auth !== `Bearer ${TOKEN}` && auth !== TOKEN) || race) return send(401, { error: 'Check Token Error' });
      send(200, section(miner.read()));
    });
  },
};
