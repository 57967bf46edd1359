import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { probePort, scan, scanHosts, type ScanProgress } from '../collectors/cgminer/discovery.js';
import { TargetError } from '../collectors/contract.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { freeLoopbackBlock, freePort } from './helpers.js';

function listenOn(host: string, port: number, reply: (request: string) => string): Promise<Server> {
  const server = createServer((socket) => {
    let request = '';
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      request += chunk.toString('latin1');
      if (request.includes('}')) socket.end(reply(request));
    });
    // A probe connects and closes without a word; answer nothing then.
    socket.on('end', () => socket.end());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

const close = (server: Server | undefined) => new Promise<void>((r) => (server ? server.close(() => r()) : r()));

// The CGMiner API on a free port the scan is told, as behind a port-forward; nothing here needs 4028.
const PORT = await freePort();
const { net: NET } = await freeLoopbackBlock({ ports: [PORT] });

/** A /27 of a free loopback block: 20 simulated miners (.1–.20, two killed), a web server and a picky firmware among them. */
describe('scan() over real TCP on loopback', () => {
  const KILLED = [3, 7];
  let farm: Farm;
  let garbage: Server;
  let versionOnly: Server;

  beforeAll(async () => {
    farm = await startFarm({ devices: 20, seed: 11, mode: 'address', host: `${NET}.1`, port: PORT, failures: false });
    for (const index of KILLED) await farm.kill(index);
    // An HTTP server on the API port: the port is open, but nothing there speaks CGMiner.
    garbage = await listenOn(`${NET}.25`, PORT, () => 'HTTP/1.1 400 Bad Request\r\nServer: lighttpd\r\nContent-Length: 0\r\n\r\n');
    // Refuses the usual commands but names itself to `version`: identification must fall back to it.
    versionOnly = await listenOn(`${NET}.26`, PORT, (request) =>
      /"command":"version"/.test(request)
        ? '{"STATUS":[{"STATUS":"S","Code":22,"Msg":"CGMiner versions","Description":"cgminer 4.12.1"}],"VERSION":[{"CGMiner":"4.12.1","API":"3.7","Type":"Antminer S9"}],"id":1}\0'
        : '{"STATUS":[{"STATUS":"E","Code":45,"Msg":"Access denied to \'summary\' command","Description":"cgminer 4.12.1"}],"id":1}\0',
    );
  });

  afterAll(async () => {
    await farm?.stop();
    await close(garbage);
    await close(versionOnly);
  });

  it('identifies every answering miner, names the unreadable hosts with a reason and counts the silent ones', async () => {
    const seen: ScanProgress[] = [];
    const result = await scan({
      ranges: [`${NET}.0/27`],
      port: PORT,
      probeConcurrency: 64,
      identifyConcurrency: 8,
      identifyTimeoutMs: 3000,
      onProgress: (p) => seen.push({ ...p }),
    });

    const expected = farm.miners.filter((m) => !KILLED.includes(m.index));
    const miners = result.identified.filter((m) => m.host !== `${NET}.26`);
    expect(miners.map((m) => m.url)).toEqual(expected.map((m) => m.url));
    for (const [i, miner] of miners.entries()) {
      expect(miner).toMatchObject({ host: expected[i]!.host, port: PORT, vendor: expected[i]!.model.vendor, model: expected[i]!.model.model, dialect: expect.any(String) });
      expect(miner.firmware).toBeTruthy();
      // Against the simulator's own reading, not the nameplate: a miner that rebooted lately is still warming up.
      const truthHs = farm.readingOf(expected[i]!.index).ghs5s * 1e9;
      expect(miner.hashrate_hs! / truthHs).toBeGreaterThan(0.8);
      expect(miner.hashrate_hs! / truthHs).toBeLessThan(1.25);
    }

    const picky = result.identified.find((m) => m.host === `${NET}.26`);
    expect(picky).toMatchObject({ url: `cgminer://${NET}.26:${PORT}`, vendor: 'Bitmain', model: 'Antminer S9', firmware: expect.stringContaining('4.12.1') });
    expect(picky).not.toHaveProperty('hashrate_hs');
    expect(result.identified).toHaveLength(expected.length + 1);

    expect(result.unidentified).toEqual([expect.objectContaining({ url: `cgminer://${NET}.25:${PORT}`, host: `${NET}.25`, reason: 'malformed' })]);
    expect(result.unidentified[0]!.error).toMatch(/not valid JSON/);

    // .1–.30 in a /27; 18 miners + the picky one answered, the web server is open but unreadable.
    expect(result.scanned).toBe(30);
    expect(result.silent).toEqual({ count: 30 - 19 - 1 });
    expect(result.ranges).toEqual([`${NET}.0/27`]);

    const probe = seen.filter((p) => p.stage === 'probe');
    const identify = seen.filter((p) => p.stage === 'identify');
    expect(probe[0]).toEqual({ stage: 'probe', done: 0, total: 30 });
    expect(probe.at(-1)).toEqual({ stage: 'probe', done: 30, total: 30 });
    expect(identify.at(-1)).toEqual({ stage: 'identify', done: 20, total: 20 });
    expect(seen.indexOf(identify[0]!)).toBeGreaterThan(seen.indexOf(probe.at(-1)!));
  });

  it('lists the silent addresses only on request, in address order, overlapping ranges probed once', async () => {
    const result = await scan({ ranges: [`${NET}.1-10`, `${NET}.8-${NET}.12`], port: PORT, listSilent: true, identifyTimeoutMs: 3000 });
    expect(result.scanned).toBe(12);
    expect(result.silent).toEqual({ count: 2, hosts: [`${NET}.4`, `${NET}.8`] });
    expect(result.identified.map((m) => m.host)).toEqual([1, 2, 3, 5, 6, 7, 9, 10, 11, 12].map((n) => `${NET}.${n}`));
  });

  it('rejects a bad range before sending anything, and an aborted scan rejects with the abort reason', async () => {
    expect(() => scanHosts(['10.0.0.0/33'])).toThrow(TargetError);
    await expect(scan({ ranges: ['not a range'] })).rejects.toThrow(TargetError);
    const controller = new AbortController();
    const scanning = scan({
      ranges: [`${NET}.0/27`],
      port: PORT,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'probe' && p.done === 5) controller.abort(new Error('operator pressed ^C'));
      },
    });
    await expect(scanning).rejects.toThrow('operator pressed ^C');
  });
});

describe('probePort', () => {
  it('counts a port as open when its connect completed while the event loop was stalled past the timeout', async () => {
    const block = await freeLoopbackBlock({ ports: [PORT] });
    const server = await listenOn(block.host(1), PORT, () => '');
    try {
      const probing = probePort(block.host(1), PORT, 20);
      // A starved scanner: the handshake completes in the kernel while this process is busy elsewhere.
      setImmediate(() => {
        const until = Date.now() + 150;
        while (Date.now() < until);
      });
      expect(await probing).toBe(true);
      expect(await probePort(block.host(2), PORT, 1000)).toBe(false);
    } finally {
      await close(server);
    }
  });
});
