/**
 * A mixed floor found by one scan: miners speaking the CGMiner API, the Whatsminer API v3, the
 * Antminer web API, ESP-Miner (Bitaxe), ProtoOS's REST API, Goldshell's web API and ePIC's HTTP API on the CGMiner port, each on its own
 * loopback address, and a stock Antminer answering both the CGMiner API and its web API. Each is found
 * once, with the protocol it answered; the two-way Antminer is one miner, over the API that named it.
 * The floor sits behind "port-forwards": every protocol on a free port the scan is told, as an
 * operator would with `--ports`, so the suite binds no port below 1024 and needs no root; the web
 * APIs share one port, as 80 on a real floor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scan, type ScanResult } from '../collectors/cgminer/discovery.js';
import { FLOOR_PROTOCOLS, floorProtocols } from '../collectors/scan-protocols.js';
import { startFarm, type Farm, type MinerSpec } from '../simulator/farm.js';
import { freeLoopbackBlock, freePorts } from './helpers.js';

const FLOOR: MinerSpec[] = [
  { model: 'Whatsminer M60S', protocol: 'whatsminer-v3' },
  { model: 'Antminer S21', also: ['antminer-web'] },
  { model: 'Antminer S21 Pro', protocol: 'antminer-web' },
  { model: 'Bitaxe Gamma', protocol: 'bitaxe' },
  { model: 'Antminer S19 XP', protocol: 'epic' },
  { model: 'Antminer S19 Pro' },
  { model: 'Whatsminer M50S' },
  { model: 'Proto Rig', protocol: 'proto' },
  { model: 'Goldshell KD6', protocol: 'goldshell' },
];

describe('scan() of a mixed floor over loopback', () => {
  let farm: Farm;
  let block: Awaited<ReturnType<typeof freeLoopbackBlock>>;
  let result: ScanResult;
  let CGMINER: number;
  let V3: number;
  let WEB: number;

  beforeAll(async () => {
    [CGMINER, V3, WEB] = (await freePorts(3)) as [number, number, number];
    block = await freeLoopbackBlock({ ports: [CGMINER, V3, WEB] });
    farm = await startFarm({
      devices: FLOOR.length,
      seed: 15,
      host: block.host(1),
      port: CGMINER,
      protocolPorts: { 'whatsminer-v3': V3, 'antminer-web': WEB, bitaxe: WEB, proto: WEB, goldshell: WEB, epic: CGMINER },
      models: FLOOR,
      failures: false,
      clock: () => 1_760_000_000_000,
    });
    const protocols = floorProtocols({ 'whatsminer-v3': V3, 'antminer-web': WEB, bitaxe: WEB, proto: WEB, goldshell: WEB, epic: CGMINER });
    result = await scan({ ranges: [block.cidr(28)], port: CGMINER, protocols, identifyTimeoutMs: 5000, probeConcurrency: 64 });
  });
  afterAll(() => farm?.stop());

  it('finds every miner once, with the protocol it answered and the model it reported', () => {
    expect(result.ports).toEqual([CGMINER, V3, WEB]);
    expect(result.protocol_ports).toEqual({ 'whatsminer-v3': V3, 'antminer-web': WEB, bitaxe: WEB, proto: WEB, goldshell: WEB, epic: CGMINER });
    expect(result.unidentified).toEqual([]);
    expect(result.silent.count).toBe(14 - FLOOR.length);
    expect(result.identified.map((m) => [m.host, m.protocol, m.port, m.model])).toEqual([
      [block.host(1), 'whatsminer-v3', V3, 'Whatsminer M60S'],
      [block.host(2), 'cgminer', CGMINER, 'Antminer S21'],
      // No account in a scan: the web API's login names the make, not the model.
      [block.host(3), 'antminer-web', WEB, undefined],
      [block.host(4), 'bitaxe', WEB, 'Bitaxe Gamma'],
      [block.host(5), 'epic', CGMINER, 'Antminer S19 XP'],
      [block.host(6), 'cgminer', CGMINER, 'Antminer S19 Pro'],
      [block.host(7), 'cgminer', CGMINER, 'Whatsminer M50S'],
      [block.host(8), 'proto', WEB, 'Proto Rig'],
      // Named by its /mcb/status, which needs no login.
      [block.host(9), 'goldshell', WEB, 'Goldshell KD6'],
    ]);
    expect(result.identified.map((m) => m.url)).toEqual(farm.miners.map((m) => m.url));
  });

  it('reports a miner reachable two ways as one, naming the other way', () => {
    const twoWay = result.identified.filter((m) => m.host === block.host(2));
    expect(twoWay).toHaveLength(1);
    expect(twoWay[0]).toMatchObject({ protocol: 'cgminer', also: ['antminer-web'], vendor: 'Bitmain' });
    expect(farm.miners[1]!.alsoUrls).toEqual([`antminer-web://${block.host(2)}:${WEB}`]);
  });

  it('names the make from the Antminer web login alone', () => {
    expect(result.identified.find((m) => m.host === block.host(3))).toMatchObject({ vendor: 'Bitmain', dialect: 'antminer-web' });
  });

  it('without other protocols probes the CGMiner port only, as before', async () => {
    const only = await scan({ ranges: [block.cidr(28)], port: CGMINER, identifyTimeoutMs: 5000 });
    expect(only.ports).toEqual([CGMINER]);
    expect(only.protocol_ports).toEqual({});
    expect(only.identified.map((m) => m.protocol)).toEqual(['cgminer', 'cgminer', 'cgminer']);
    // ePIC's HTTP API on the CGMiner port is no CGMiner reply
    expect(only.unidentified.map((h) => h.host)).toEqual([block.host(5)]);
  });
});

describe('floorProtocols', () => {
  it('moves the ports an operator names and keeps the factory port of the others', () => {
    expect(FLOOR_PROTOCOLS.map((p) => [p.scheme, p.port])).toEqual([
      ['whatsminer-v3', 4433],
      ['antminer-web', 80],
      ['bitaxe', 80],
      ['proto', 80],
      ['goldshell', 80],
      ['epic', 4028],
    ]);
    expect(floorProtocols({ 'antminer-web': 8081 }).map((p) => [p.scheme, p.port])).toEqual([
      ['whatsminer-v3', 4433],
      ['antminer-web', 8081],
      ['bitaxe', 80],
      ['proto', 80],
      ['goldshell', 80],
      ['epic', 4028],
    ]);
    expect(floorProtocols()).toEqual(FLOOR_PROTOCOLS);
  });
});
