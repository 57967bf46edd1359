import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:net';
import { findTool, freeLoopbackBlock, sharedFixtures, SHARED_FIXTURES } from './helpers.js';

const listen = (host: string, port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
const close = (server: Server) => new Promise<void>((r) => server.close(() => r()));

/** Math.random values that make randomLoopbackNet() pick 127.second.third. */
const drawing = (second: number, third: number) => [(second - 1 + 0.5) / 254, (third + 0.5) / 256];

describe('freeLoopbackBlock', () => {
  afterEach(() => vi.restoreAllMocks());

  it('hands out a /24 outside the blocks the demo and the benches use, every host bindable at its ports', async () => {
    const block = await freeLoopbackBlock({ ports: [4028, 4029] });
    const [, second] = block.net.split('.').map(Number);
    expect([0, 1, 2, 20, 21, 50]).not.toContain(second);
    expect(block.host(7)).toBe(`${block.net}.7`);
    expect(block.cidr(27)).toBe(`${block.net}.0/27`);
    const servers = await Promise.all([listen(block.host(1), 4028), listen(block.host(254), 4029)]);
    await Promise.all(servers.map(close));
  });

  it('moves on to another block when anything listens on one of the first block’s hosts', async () => {
    const occupied = await freeLoopbackBlock();
    const [, second, third] = occupied.net.split('.').map(Number) as [number, number, number];
    const squatter = await listen(occupied.host(200), 4028);
    try {
      const next = third === 255 ? 0 : third + 1;
      vi.spyOn(Math, 'random')
        .mockReturnValueOnce(drawing(second, third)[0]!)
        .mockReturnValueOnce(drawing(second, third)[1]!)
        .mockReturnValueOnce(drawing(second, next)[0]!)
        .mockReturnValueOnce(drawing(second, next)[1]!);
      expect((await freeLoopbackBlock()).net).toBe(`127.${second}.${next}`);
    } finally {
      await close(squatter);
    }
  });

  it('gives up with the addresses it found taken', async () => {
    const occupied = await freeLoopbackBlock();
    const [, second, third] = occupied.net.split('.').map(Number) as [number, number, number];
    const squatter = await listen(occupied.host(9), 4028);
    try {
      vi.spyOn(Math, 'random').mockImplementation(
        ((): (() => number) => {
          let call = 0;
          return () => drawing(second, third)[call++ % 2]!;
        })(),
      );
      await expect(freeLoopbackBlock({ attempts: 2 })).rejects.toThrow(
        `no free loopback block after 2 tries; taken: ${occupied.host(9)}:4028 (EADDRINUSE), ${occupied.host(9)}:4028 (EADDRINUSE)`,
      );
    } finally {
      await close(squatter);
    }
  });
});

describe('what a test needs from outside the repository', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('fails under CI=true when a shared captures folder or a component is missing', () => {
    vi.stubEnv('CI', 'true');
    expect(() => sharedFixtures('no-such-captures')).toThrow(
      `${SHARED_FIXTURES}/no-such-captures is missing; the conformance tests read the shared captures from a checkout beside this one (CI=true makes this a failure, not a skip)`,
    );
    expect(() => findTool('no-such-tool-potencia')).toThrow('no-such-tool-potencia is missing; .ci/run installs it (CI=true makes this a failure, not a skip)');
  });

  it('elsewhere skips, saying what was missing', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(sharedFixtures('no-such-captures')).toBeUndefined();
    expect(findTool('no-such-tool-potencia')).toBeUndefined();
    expect(warn.mock.calls.map(([line]) => String(line))).toEqual([
      expect.stringMatching(/^SKIPPED: the tests that need .*\/no-such-captures \(missing; /),
      'SKIPPED: the tests that need no-such-tool-potencia (missing; .ci/run installs it)',
    ]);
  });

  it('finds what is there', () => {
    vi.stubEnv('CI', 'true');
    expect(findTool('node')).toMatch(/node$/);
  });
});
