/**
 * A Bitaxe on ESP-Miner (AxeOS) 2.4.x, shaped like the asic-rs BM1368 capture in
 * ../shared/fixtures/bitaxe: plain HTTP on port 80, no login, `GET /api/system/info` answering one
 * flat object (`hashRate` GH/s, `power` W with a float's noise, `temp` and `vrTemp` °C, `fanrpm`,
 * `stratumURL` as a bare host beside `stratumPort`). Everything else is a 404.
 */
import { createServer } from 'node:http';
import type { MinerReading } from '../physics.js';
import type { ProtocolTwin, ServedMiner } from './types.js';

const ASIC_BY_MODEL: Readonly<Record<string, string>> = { 'Bitaxe Max': 'BM1397', 'Bitaxe Ultra': 'BM1366', 'Bitaxe Supra': 'BM1368', 'Bitaxe Gamma': 'BM1370' };
const BOARD_VERSION: Readonly<Record<string, string>> = { BM1397: '102', BM1366: '204', BM1368: '401', BM1370: '601' };

function systemInfo(r: MinerReading): Record<string, unknown> {
  const asic = ASIC_BY_MODEL[r.traits.model.model] ?? 'BM1368';
  const board = r.boards[0];
  const mac = [
    'AA',
    'BB',
    'CC',
    (r.traits.seed & 0xff).toString(16).padStart(2, '0'),
    ((r.traits.index >> 8) & 0xff).toString(16).padStart(2, '0'),
    (r.traits.index & 0xff).toString(16).padStart(2, '0'),
  ];
  return {
    ASICModel: asic,
    asicCount: r.traits.model.chips_per_board ?? 1,
    boardVersion: BOARD_VERSION[asic],
    fanrpm: r.fansRpm[0] ?? 0,
    fanspeed: 35,
    frequency: board?.frequencyMhz ?? 0,
    hashRate: Math.round(r.ghs5s * 100) / 100,
    hostname: 'bitaxe',
    isUsingFallbackStratum: 0,
    macAddr: mac.join(':').toUpperCase(),
    overheat_mode: 0,
    // The board's power monitor reads as a float, printed with its noise.
    power: r.powerW + 0.00000009536743,
    sharesAccepted: r.accepted,
    sharesRejected: r.rejected,
    stratumPort: 3333,
    stratumURL: 'btc.pool.example',
    stratumUser: `farm.sim${String(r.traits.index).padStart(5, '0')}`,
    fallbackStratumPort: 3333,
    fallbackStratumURL: 'btc-backup.pool.example',
    fallbackStratumUser: `farm.sim${String(r.traits.index).padStart(5, '0')}`,
    temp: board?.alive ? Math.max(...board.chipC) + 0.875 : 0,
    uptimeSeconds: r.elapsedS,
    version: 'v2.4.5',
    vrTemp: board?.alive ? Math.max(...board.pcbC) + 10 : 0,
  };
}

export const bitaxeTwin: ProtocolTwin<'bitaxe'> = {
  scheme: 'bitaxe',
  defaultPort: 80,
  vendors: ['Bitaxe'],
  createServer(miner: ServedMiner) {
    return createServer((req, res) => {
      if (miner.hung()) return;
      if ((req.url ?? '').split('?', 1)[0] !== '/api/system/info') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('Not Found');
        return;
      }
      let body = JSON.stringify(systemInfo(miner.read()));
      if (miner.malformed()) body = body.slice(0, Math.floor(body.length * 0.6));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  },
};
