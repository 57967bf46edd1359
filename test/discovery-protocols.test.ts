/**
 * A mixed floor found by one scan: miners speaking the CGMiner API, the Whatsminer API v3, the
 * Antminer web API, ESP-Miner (Bitaxe), Goldshell's web API and ePIC's HTTP API on 4028, each on its own loopback address
 * at its protocol's own port, and a stock Antminer answering both 4028 and its web API. Each is found
 * once, with the protocol it answered; the two-way Antminer is one miner, over the API that named it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scan, type ScanResult } from '../collectors/cgminer/discovery.js';
import { FLOOR_PROTOCOLS } from '../collectors/scan-protocols.js';
import { startFarm, type Farm, type MinerSpec } from '../simulator/farm.js';
import { freeLoopbackBlock } from './helpers.js';

const FLOOR: MinerSpec[] = [
  { model: 'Whatsminer M60S', protocol: 'whatsminer-v3' },
  { model: 'Antminer S21', also: ['antminer-web'] },
  { model: 'Antminer S21 Pro', protocol: 'antminer-web' },
  { model: 'Bitaxe Gamma', protocol: 'bitaxe' },
  { model: 'Antminer S19 XP', protocol: 'epic' },
  { model: 'Antminer S19 Pro' },
  { model: 'Whatsminer M50S' },
  { model: 'Goldshell KD6', protocol: 'goldshell' },
];

describe('scan() of a mixed floor over loopback', () => {
  let farm: Farm;
  let block: Awaited<ReturnType<typeof freeLoopbackBlock>>;
  let result: ScanResult;

  beforeAll(async () => {
    block = await freeLoopbackBlock({ ports: [4028, 4433, 80] });
    farm = await startFarm({ devices: FLOOR.length, seed: 15, host: block.host(1), models: FLOOR, failures: false, clock: () => 1_760_000_000_000 });
    result = await scan({ ranges: [block.cidr(28)], protocols: FLOOR_PROTOCOLS, identifyTimeoutMs: 5000, probeConcurrency: 64 });
  });
  afterAll(() => farm?.stop());

  it('finds every miner once, with the protocol it answered and the model it reported', () => {
    expect(result.ports).toEqual([4028, 4433, 80]);
    expect(result.unidentified).toEqual([]);
    expect(result.silent.count).toBe(14 - FLOOR.length);
    expect(result.identified.map((m) => [m.host, m.protocol, m.port, m.model])).toEqual([
      [block.host(1), 'whatsminer-v3', 4433, 'Whatsminer M60S'],
      [block.host(2), 'cgminer', 4028, 'Antminer S21'],
      // No account in a scan: the web API's login names the make, not the model.
      [block.host(3), 'antminer-web', 80, undefined],
      [block.host(4), 'bitaxe', 80, 'Bitaxe Gamma'],
      [block.host(5), 'epic', 4028, 'Antminer S19 XP'],
      [block.host(6), 'cgminer', 4028, 'Antminer S19 Pro'],
      [block.host(7), 'cgminer', 4028, 'Whatsminer M50S'],
      // Named by its /mcb/status, which needs no login.
      [block.host(8), 'goldshell', 80, 'Goldshell KD6'],
    ]);
    expect(result.identified.map((m) => m.url)).toEqual(farm.miners.map((m) => m.url));
  });

  it('reports a miner reachable two ways as one, naming the other way', () => {
    const twoWay = result.identified.filter((m) => m.host === block.host(2));
    expect(twoWay).toHaveLength(1);
    expect(twoWay[0]).toMatchObject({ protocol: 'cgminer', also: ['antminer-web'], vendor: 'Bitmain' });
    expect(farm.miners[1]!.alsoUrls).toEqual([`antminer-web://${block.host(2)}:80`]);
  });

  it('names the make from the Antminer web login alone', () => {
    expect(result.identified.find((m) => m.host === block.host(3))).toMatchObject({ vendor: 'Bitmain', dialect: 'antminer-web' });
  });

  it('without other protocols probes 4028 only, as before', async () => {
    const only = await scan({ ranges: [block.cidr(28)], identifyTimeoutMs: 5000 });
    expect(only.ports).toEqual([4028]);
    expect(only.identified.map((m) => m.protocol)).toEqual(['cgminer', 'cgminer', 'cgminer']);
    // ePIC's HTTP API on 4028 is no CGMiner reply
    expect(only.unidentified.map((h) => h.host)).toEqual([block.host(5)]);
  });
});
