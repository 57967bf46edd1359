import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { startDemoFarm } from '../agent/demo.js';
import { createLogger } from '../agent/log.js';
import { startFarm, type Farm, type FarmOptions } from '../simulator/farm.js';
import { PROTOCOL_TWINS } from '../simulator/protocols/index.js';
import { freeLoopbackBlock } from './helpers.js';

// Seed 11's first 14 miners: CGMiner ones on 4028, Whatsminers on API v3 (4433) and, at index 13, an
// Antminer read over its web API, whose twin listens on 80.
const DEVICES = 14;
const SEED = 11;
const WEB = 13;

function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { logger: createLogger({ destination }), lines };
}

/** What the kernel answers a user who may not bind ports below 1024. */
function unprivileged(calls: FarmOptions[]) {
  return async (opts: FarmOptions): Promise<Farm> => {
    calls.push(opts);
    const low = Object.values(PROTOCOL_TWINS).some((twin) => (opts.protocolPorts?.[twin.scheme as keyof typeof PROTOCOL_TWINS] ?? twin.defaultPort) < 1024);
    if (opts.mode === 'address' && low) throw Object.assign(new Error(`listen EACCES: permission denied ${opts.host}:80`), { code: 'EACCES' });
    return startFarm(opts);
  };
}

const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

describe('the demo farm without the privilege to bind port 80', () => {
  let farm: Farm | undefined;
  afterEach(async () => {
    await farm?.stop();
    farm = undefined;
  });

  it('keeps each miner on its own farm-block address, moves the web twins 10000 higher, and says so in one line', async () => {
    const block = await freeLoopbackBlock({ ports: [4028, 4433, 10_080] });
    const calls: FarmOptions[] = [];
    const { logger, lines } = capturingLogger();
    farm = await startDemoFarm(DEVICES, SEED, logger, block.host(1), unprivileged(calls));

    expect(calls.map((c) => [c.mode, c.host, c.protocolPorts])).toEqual([
      ['address', block.host(1), undefined],
      ['address', block.host(1), { 'antminer-web': 10_080, bitaxe: 10_080, 'braiins-rest': 10_080, proto: 10_080, goldshell: 10_080 }],
    ]);
    expect(farm.miners.map((m) => m.host)).toEqual(Array.from({ length: DEVICES }, (_, i) => block.host(i + 1)));
    // The targets carry the moved port; the ports nobody needs privilege for stay where a real farm has them.
    const web = farm.miners[WEB]!;
    expect(web).toMatchObject({ protocol: 'antminer-web', url: `antminer-web://${web.host}:10080` });
    expect(farm.miners.filter((m) => m.protocol === 'cgminer').every((m) => m.port === 4028)).toBe(true);
    expect(farm.miners.filter((m) => m.protocol === 'whatsminer-v3').map((m) => m.port)).toEqual([4433]);
    expect(await reachable(web.host, 10_080)).toBe(true);

    const warnings = lines.filter((l) => l.level >= 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(
      /^cannot listen on ports below 1024 without privileges \(listen EACCES: .*\): the demo's web-API miners listen higher \(.*antminer-web 80 → 10080/,
    );
  });

  it('still names a taken farm block, and falls back to ports on 127.0.0.1 only where 127.x.y.z is not routed', async () => {
    const { logger, lines } = capturingLogger();
    const failing = (code: string) => async (opts: FarmOptions) => {
      if (opts.mode === 'port') return { miners: [], stop: async () => {} } as unknown as Farm;
      throw Object.assign(new Error(`listen ${code}: ${opts.host}:4028`), { code });
    };
    await expect(startDemoFarm(3, 1, logger, '127.9.9.1', failing('EADDRINUSE'))).rejects.toThrow(/^the demo farm's addresses are taken .*--farm-host 127\.2\.0\.1$/);
    const calls: FarmOptions[] = [];
    const routeless = failing('EADDRNOTAVAIL');
    await startDemoFarm(3, 1, logger, '127.9.9.1', (opts) => {
      calls.push(opts);
      return routeless(opts);
    });
    expect(calls.map((c) => [c.mode, c.port])).toEqual([
      ['address', undefined],
      ['port', 14028],
    ]);
    expect(lines.map((l) => l.msg)).toEqual(['cannot listen on 127.x.y.z addresses; using consecutive ports on 127.0.0.1']);
  });

  it('runs in address mode on the farm block as whoever runs the suite, root or not', async () => {
    const block = await freeLoopbackBlock({ ports: [4028, 4433, 10_080] });
    farm = await startDemoFarm(DEVICES, SEED, capturingLogger().logger, block.host(1));
    expect(farm.miners.map((m) => m.host)).toEqual(Array.from({ length: DEVICES }, (_, i) => block.host(i + 1)));
    const web = farm.miners[WEB]!;
    expect([80, 10_080]).toContain(web.port);
    expect(await reachable(web.host, web.port)).toBe(true);
  });
});
