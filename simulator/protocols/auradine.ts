/**
 * Auradine Teraflux's web API (port 8080), shaped like the asic-rs AT1500 captures in
 * ../shared/fixtures/auradine: `POST /token` with `{"command":"token","user","password"}` answers
 * `{"Token":[{"Token":"…"}]}`; every other section is a GET with a `Token` header, answered in the
 * CGMiner shape (a STATUS array beside it): `ipreport`, `psu` (numbers as "58.94W" strings), `fan`,
 * `temperature` (a control board, then per hash board `ChipTemp` / `BoardTemp` lists), `mode`. A
 * missing or stale token gets HTTP 401. Factory account admin/admin, as asic-rs assumes.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { MinerReading } from '../physics.js';
import { jsonReplier, readLoginBody } from './http-json.js';
import type { ProtocolTwin, ServedMiner } from './types.js';

const FACTORY_ACCOUNT = { user: 'admin', password: 'admin' } as const;
const DESCRIPTION = 'FluxOS-2023-12.27-9bf070ee4408866329c93a70f2dfdc6248938aaa';

const status = (r: MinerReading, code: number, msg: string) => [{ Code: code, Description: DESCRIPTION, Msg: msg, STATUS: 'S', When: r.when }];
const hex = (n: number) => n.toString(16).padStart(2, '0');

const SECTIONS: Readonly<Record<string, (r: MinerReading) => unknown>> = {
  ipreport: (r) => ({
    IPReport: [
      {
        SerialNo: `AU2320${String(r.traits.index).padStart(4, '0')}`,
        hostname: `teraflux-${r.traits.index}`,
        mac: ['1c', '00', '00', hex(r.traits.seed & 0xff), hex((r.traits.index >> 8) & 0xff), hex(r.traits.index & 0xff)].join(':'),
        model: r.traits.model.model.replace(/^Teraflux\s+/, ''),
        version: '2023-12.27',
      },
    ],
    STATUS: status(r, 620, 'IP Report'),
  }),
  psu: (r) => ({ PSU: [{ PowerIn: `${r.powerW.toFixed(2)}W`, Vin: '245.00V', Vout: '11.53V' }], STATUS: status(r, 570, 'PSU status') }),
  fan: (r) => ({ Fan: r.fansRpm.map((speed, i) => ({ ID: i + 1, Max: 7700, Speed: speed, Target: 7000 })), STATUS: status(r, 510, `Total fans: ${r.fansRpm.length}`) }),
  temperature: (r) => ({
    STATUS: status(r, 590, 'System temperature'),
    Temperature: [
      { BoardTemp: [{ ID: 0, Temperature: 24.9375 }], ChipTemp: null, ID: 0, Name: 'Control Board' },
      ...r.boards.map((b) => ({
        BoardTemp: b.alive ? b.pcbC.map((t, id) => ({ ID: id, Temperature: t })) : [],
        ChipTemp: b.alive ? b.chipC.map((t, id) => ({ ID: id, Temperature: t + 0.027271728515655 })) : [],
        ID: b.index + 1,
        Name: `Hash Board ${b.index + 1}`,
      })),
    ],
  }),
  mode: (r) => ({
    Mode: [{ Mode: 'normal', Power: Math.round(r.traits.model.nominal_power_w), Sleep: 'off', Ths: Math.round(r.traits.model.nominal_hashrate_hs / 1e12) }],
    STATUS: status(r, 540, 'Operating mode'),
  }),
};

export const auradineTwin: ProtocolTwin<'auradine'> = {
  scheme: 'auradine',
  defaultPort: 8080,
  vendors: ['Auradine'],
  createServer(miner: ServedMiner) {
    const tokens = new Set<string>();
    return createServer(async (req, res) => {
      if (miner.hung()) return;
      const path = (req.url ?? '').split('?', 1)[0]!.replace(/^\//, '');
      const send = jsonReplier(res, miner);
      if (path === 'token' && req.method === 'POST') {
        const text = await readLoginBody(req);
        let login: { user?: unknown; password?: unknown } = {};
        try {
          login = JSON.parse(text) as typeof login;
        } catch {}
        if (login.user !== FACTORY_ACCOUNT.user || login.password !== FACTORY_ACCOUNT.password) return send(401, { STATUS: [{ STATUS: 'E', Msg: 'Invalid user or password' }] });
        const token = randomBytes(12).toString('hex');
        tokens.add(token);
        return send(200, { STATUS: [{ STATUS: 'S', Msg: 'Token', When: 0 }], Token: [{ Token: token }] });
      }
      const section = SECTIONS[path];
      if (!section) return send(404, { STATUS: [{ STATUS: 'E', Msg: `Invalid command ${path.slice(0, 40)}` }] });
      const token = req.headers['token'];
      if (typeof token !== 'string' || !tokens.has(token)) return send(401, { STATUS: [{ STATUS: 'E', Msg: 'Token required' }] });
      send(200, section(miner.read()));
    });
  },
};
