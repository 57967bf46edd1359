/**
 * A Whatsminer on firmware with API v3 (btminer 3.x, TCP 4433), shaped like the asic-rs M60S captures
 * in ../shared/fixtures/whatsminer-v3: each request and reply is JSON behind its length as a 32-bit
 * little-endian word; `get.device.info` names the machine, `get.miner.status` answers the parts its
 * `param` joins with `+` (`summary`, `pools`, `edevs`), hashrates in TH/s, watts as `power-realtime`.
 * One reply per connection, then the miner closes it. An unknown command gets code -1 with a `msg`
 * sentence (the captures hold no error reply: the code is this twin's choice, read as api_error).
 */
import net from 'node:net';
import type { BoardReading, MinerReading } from '../physics.js';
import { unit } from '../physics.js';
import { whatsminerMac } from '../dialects/whatsminer.js';
import type { ProtocolTwin, ServedMiner } from './types.js';

const MAX_REQUEST_BYTES = 64 * 1024;
const FIRMWARE = '20251209.16.Rel2';

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

function chipMax(b: BoardReading): number {
  return b.alive ? Math.max(...b.chipC) : 0;
}

function deviceInfo(r: MinerReading): Record<string, unknown> {
  const short = r.traits.model.model.replace(/^Whatsminer\s+/, '');
  const sn = `BTM3CS40HD${String(r.traits.seed % 1000).padStart(3, '0')}${String(r.traits.index).padStart(8, '0')}`;
  return {
    miner: { 'board-num': String(r.boards.length), 'miner-sn': sn, type: `${short}_VK40`, working: 'true', 'pool-strategy': 'FAILOVER' },
    network: { hostname: 'WhatsMiner', mac: whatsminerMac(r), proto: 'dhcp' },
    power: { fanspeed: 6344, model: 'P221B' },
    salt: 'simulatd',
    system: { api: '3.0.2', fwversion: FIRMWARE, platform: 'H616', 'control-board-version': 'CB6V10' },
  };
}

function summary(r: MinerReading): Record<string, unknown> {
  const alive = r.boards.filter((b) => b.alive);
  const chips = alive.map(chipMax);
  const ths = r.ghs5s / 1000;
  return {
    'board-temperature': r.boards.map((b) => (b.alive ? round(Math.max(...b.pcbC), 1) : 0)),
    'bootup-time': r.elapsedS + 600,
    'chip-temp-avg': chips.length ? round(chips.reduce((a, t) => a + t - 4, 0) / chips.length, 1) : 0,
    'chip-temp-max': chips.length ? Math.max(...chips) : 0,
    elapsed: r.elapsedS,
    'environment-temperature': round(25 + unit(r.traits.seed, r.traits.index, 0xe7) * 8, 1),
    'factory-hash': round(r.idealGhs / 1000, 3),
    'fan-speed-in': r.fansRpm[0] ?? 0,
    'fan-speed-out': r.fansRpm[1] ?? 0,
    'hash-1min': round(r.ghs30m / 1000, 3),
    'hash-average': round(r.ghsAv / 1000, 3),
    'hash-realtime': round(ths, 3),
    'power-5min': r.powerW,
    'power-limit': Math.ceil((r.traits.model.nominal_power_w * 1.05) / 100) * 100,
    'power-realtime': r.powerW + 4,
  };
}

function edevs(r: MinerReading): Record<string, unknown>[] {
  return r.boards.map((b) => ({
    'chip-temp-avg': b.alive ? chipMax(b) - 4 : 0,
    'chip-temp-max': chipMax(b),
    'effective-chips': b.chips,
    'factory-hash': round(b.idealGhs / 1000, 3),
    freq: b.frequencyMhz,
    'hash-average': round((b.alive ? b.idealGhs * r.traits.derate : 0) / 1000, 3),
    'hash-realtime': round(b.hashrateGhs / 1000, 3),
    id: b.index,
    status: b.alive ? 'alive' : 'dead',
  }));
}

function pools(r: MinerReading): Record<string, unknown>[] {
  const account = `farm.sim${String(r.traits.index).padStart(5, '0')}`;
  return ['stratum+tcp://btc.pool.example:3333', 'stratum+tcp://btc-backup.pool.example:3333'].map((url, i) => ({
    account,
    'pool-priority': i,
    status: 'alive',
    'stratum-active': i === 0,
    url,
  }));
}

const STATUS_PARTS: Readonly<Record<string, (r: MinerReading) => unknown>> = { summary, pools, edevs };

/** The reply object to one request. */
export function v3Answer(request: unknown, r: MinerReading): Record<string, unknown> {
  const req = typeof request === 'object' && request !== null ? (request as { cmd?: unknown; param?: unknown }) : {};
  const error = (msg: string) => ({ code: -1, when: r.when, msg, desc: typeof req.cmd === 'string' ? req.cmd : '' });
  if (req.cmd === 'get.device.info') return { code: 0, when: r.when, msg: deviceInfo(r), desc: req.cmd };
  if (req.cmd !== 'get.miner.status') return error('invalid command');
  const parts = typeof req.param === 'string' ? req.param.split('+') : [];
  if (parts.length === 0 || !parts.every((p) => p in STATUS_PARTS)) return error('invalid param');
  const msg: Record<string, unknown> = {};
  for (const part of parts) msg[part] = STATUS_PARTS[part]!(r);
  return { code: 0, when: r.when, msg, desc: req.cmd };
}

function framed(value: unknown, malformed: boolean): Buffer {
  let body = Buffer.from(JSON.stringify(value));
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32LE(body.length, 0);
  if (malformed) body = body.subarray(0, Math.floor(body.length * 0.6));
  return Buffer.concat([header, body]);
}

export const whatsminerV3Twin: ProtocolTwin<'whatsminer-v3'> = {
  scheme: 'whatsminer-v3',
  defaultPort: 4433,
  vendors: ['MicroBT'],
  createServer(miner: ServedMiner) {
    return net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      if (miner.hung()) return;
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 4) return;
        const length = buffered.readUInt32LE(0);
        if (length > MAX_REQUEST_BYTES) return void socket.destroy();
        if (buffered.length < 4 + length) return;
        let request: unknown;
        try {
          request = JSON.parse(buffered.subarray(4, 4 + length).toString('utf8'));
        } catch {
          request = undefined;
        }
        socket.end(framed(v3Answer(request, miner.read()), miner.malformed()));
      });
    });
  },
};
