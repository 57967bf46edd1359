/**
 * An Antminer on ePIC PowerPlay-BMS firmware, shaped like the asic-rs S19 XP captures in
 * ../shared/fixtures/epic: HTTP JSON on port 4028 (where stock firmware has the CGMiner socket), no
 * login for reads; `/summary` with `Session` (MH/s), `HBs` (per-board `Hashrate` triple, `Temperature`,
 * `Input Power` left 0.0 as the capture has it), `HBStatus`, the PSU's `Input Power`, a dozen
 * `Fans Speed N` slots (null where no fan), and `StratumConfigs` holding the pool password, as the
 * real one does; `/capabilities` and `/network`.
 */
import { createServer } from 'node:http';
import type { MinerReading } from '../physics.js';
import type { ProtocolTwin, ServedMiner } from './types.js';

const FAN_SLOTS = 12;

function summary(r: MinerReading): Record<string, unknown> {
  const fans: Record<string, number | null> = {};
  for (let i = 0; i < FAN_SLOTS; i++) fans[`Fans Speed ${i + 1}`] = r.fansRpm[i] ?? null;
  const alive = r.boards.filter((b) => b.alive);
  return {
    'Fans Rpm': fans,
    HBStatus: r.boards.map((b) => ({ Detected: true, Enabled: b.alive, Index: b.index })),
    HBs: alive.map((b) => ({
      'Core Clock Avg': b.frequencyMhz,
      Hashrate: [Math.round(b.hashrateGhs * 1000), Math.round((b.hashrateGhs / b.idealGhs) * 1000) / 10, 0.8],
      Index: b.index,
      'Input Power': 0.0,
      'Input Voltage': 12.6,
      Temperature: Math.max(...b.pcbC),
    })),
    Hostname: `cminer${String(r.traits.index).padStart(8, '0')}`,
    'Power Supply Stats': { 'Input Power': r.powerW + 0.6174, 'Output Voltage': 12.595 },
    PresetInfo: { 'Target Power': Math.round(r.traits.model.nominal_power_w / 100) * 100 },
    Session: { Accepted: r.accepted, 'Active HBs': alive.length, 'Average MHs': Math.round(r.ghsAv * 1000), Rejected: r.rejected, Uptime: r.elapsedS },
    Software: 'PowerPlay-BMS v1.5.13',
    Status: { 'Last Error': null, 'Operating State': 'Mining' },
    Stratum: { 'Current Pool': 'btc.pool.example:3333', 'Current User': `farm.sim${String(r.traits.index).padStart(5, '0')}`, IsPoolConnected: true },
    StratumConfigs: [{ login: `farm.sim${String(r.traits.index).padStart(5, '0')}`, password: 'x-pool-secret', pool: 'stratum+tcp://btc.pool.example:3333' }],
  };
}

const PAGES: Readonly<Record<string, (r: MinerReading) => unknown>> = {
  '/summary': summary,
  '/capabilities': (r) => ({
    Model: r.traits.model.model.replace(/^Antminer/, 'AntMiner'),
    'Default Hashrate': Math.round(r.traits.model.nominal_hashrate_hs / 1e12),
    'Max HBs': r.boards.length,
  }),
  '/network': (r) => ({
    dhcp: {
      mac_address: ['E6', 'D4', '41', r.traits.seed & 0xff, (r.traits.index >> 8) & 0xff, r.traits.index & 0xff]
        .map((b) => (typeof b === 'number' ? b.toString(16).padStart(2, '0').toUpperCase() : b))
        .join(':'),
    },
  }),
};

export const epicTwin: ProtocolTwin<'epic'> = {
  scheme: 'epic',
  defaultPort: 4028,
  vendors: ['Bitmain'],
  createServer(miner: ServedMiner) {
    return createServer((req, res) => {
      if (miner.hung()) return;
      const page = PAGES[(req.url ?? '').split('?', 1)[0]!];
      if (!page) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('Not Found');
        return;
      }
      let body = JSON.stringify(page(miner.read()));
      if (miner.malformed()) body = body.slice(0, Math.floor(body.length * 0.6));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  },
};
