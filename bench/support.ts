import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { intToIpv4, ipv4ToInt } from '../collectors/target.js';

/**
 * The Node options the shipped launchers run the agent with (the Docker image and the systemd unit set
 * them in NODE_OPTIONS); suites that measure the agent itself run under them. A test keeps the three
 * in step.
 */
export const DEPLOYED_NODE_OPTIONS: readonly string[] = ['--max-old-space-size=512', '--max-semi-space-size=32'];

/** A TCP port free right now on 127.0.0.1 (the benches and the tests start agents on one). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** `count` distinct TCP ports free right now on 127.0.0.1: each is held until all are picked, so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((listening, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => listening());
      });
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((closed) => (server.listening ? server.close(() => closed()) : closed()))));
  }
}

/**
 * Second octets of 127.X.0.0/16 that other users of this machine take: 127.0 (localhost and the tests'
 * own 127.0.0.1 servers), 127.1 and 127.2 (`potencia demo` and the second demo its help suggests), and
 * the benches' farms (poll 127.20, daemon 127.21, scan 127.50, which scans its whole /16, fleet 127.30–39).
 */
const LOOPBACK_OCTETS_IN_USE: ReadonlySet<number> = new Set([0, 1, 2, 20, 21, 50, ...Array.from({ length: 10 }, (_, i) => 30 + i)]);

/** The fleet bench's sites, a /16 each: 127.30 for the first site, up to ten sites. */
export const FLEET_LOOPBACK_OCTETS: readonly number[] = [...LOOPBACK_OCTETS_IN_USE].filter((octet) => octet >= 30 && octet < 40);

/** A /24 of loopback addresses, 127.X.Y.1–254, that one suite has to itself. */
export interface LoopbackBlock {
  /** `127.X.Y` */
  readonly net: string;
  /** `127.X.Y.n` */
  host(n: number): string;
  /** `127.X.Y.0/bits`, for scan ranges inside the block. */
  cidr(bits: number): string;
}

export interface LoopbackBlockOptions {
  /** TCP ports that must be free on every host of the block; default the CGMiner port. */
  ports?: readonly number[];
  attempts?: number;
}

/**
 * A random 127.X.Y.0/24 whose 254 hosts nothing listens on at `ports` right now: each is bound and
 * released, so a demo, a bench or another developer's test run on this machine sends this suite to
 * another block instead of into EADDRINUSE. Binding every host, not only the ones a suite starts,
 * also keeps a scan of the block from finding someone else's listener.
 */
export async function freeLoopbackBlock({ ports = [4028], attempts = 20 }: LoopbackBlockOptions = {}): Promise<LoopbackBlock> {
  const taken: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const block = loopbackBlock(randomLoopbackNet());
    const busy = await firstBusyAddress(block, ports);
    if (busy === undefined) return block;
    taken.push(busy);
  }
  throw new Error(`no free loopback block after ${attempts} tries; taken: ${taken.join(', ')}`);
}

function randomLoopbackNet(): string {
  for (;;) {
    const second = 1 + Math.floor(Math.random() * 254);
    if (!LOOPBACK_OCTETS_IN_USE.has(second)) return `127.${second}.${Math.floor(Math.random() * 256)}`;
  }
}

function loopbackBlock(net: string): LoopbackBlock {
  return { net, host: (n) => `${net}.${n}`, cidr: (bits) => `${net}.0/${bits}` };
}

/** Binds every host of the block at every port at once; the first address that refused, or undefined. */
async function firstBusyAddress(block: LoopbackBlock, ports: readonly number[]): Promise<string | undefined> {
  const servers: Server[] = [];
  const binds: Promise<string | undefined>[] = [];
  for (let n = 1; n <= 254; n++) {
    for (const port of ports) {
      const server = createServer();
      servers.push(server);
      binds.push(
        new Promise((settle) => {
          server.once('error', (err: NodeJS.ErrnoException) => settle(`${block.host(n)}:${port} (${err.code ?? err.message})`));
          server.listen({ host: block.host(n), port, exclusive: true }, () => settle(undefined));
        }),
      );
    }
  }
  const outcomes = await Promise.all(binds);
  await Promise.all(servers.map((server) => new Promise<void>((closed) => (server.listening ? server.close(() => closed()) : closed()))));
  return outcomes.find((busy) => busy !== undefined);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface FarmProcess {
  /** Miners the seed made dead (they refuse connections), as the simulator announced them. */
  dead: number[];
  stop(): Promise<void>;
}

/**
 * A simulated farm in child processes (`simulator/cli.js`), so its CPU is not counted against the
 * agent being measured; resolves once every one announces it is listening. Each miner holds a
 * listening socket, so a farm larger than one process's file-descriptor limit is split across
 * processes over consecutive addresses.
 */
export async function startFarmProcess(devices: number, firstHost: string, seed: number, { failures = true }: { failures?: boolean } = {}): Promise<FarmProcess> {
  const first = ipv4ToInt(firstHost);
  if (first === undefined) throw new Error(`not an IPv4 address: ${firstHost}`);
  const parts: FarmProcess[] = [];
  try {
    for (let offset = 0; offset < devices; offset += DEVICES_PER_FARM_PROCESS) {
      const count = Math.min(DEVICES_PER_FARM_PROCESS, devices - offset);
      const part = await startOneFarmProcess(count, intToIpv4(first + offset), seed + offset, failures);
      parts.push({ dead: part.dead.map((index) => index + offset), stop: part.stop });
    }
  } catch (err) {
    await Promise.all(parts.map((part) => part.stop()));
    throw err;
  }
  return { dead: parts.flatMap((part) => part.dead), stop: async () => void (await Promise.all(parts.map((part) => part.stop()))) };
}

/** Below the 20,000 open files these machines allow a process, with room for the agent's connections. */
const DEVICES_PER_FARM_PROCESS = 15_000;

async function startOneFarmProcess(devices: number, firstHost: string, seed: number, failures: boolean): Promise<FarmProcess> {
  const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'simulator', 'cli.js');
  const args = [cli, '--devices', String(devices), '--host', firstHost, '--seed', String(seed), ...(failures ? [] : ['--no-failures'])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const dead = await new Promise<number[]>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`simulator exited with ${code}`)));
    lines.once('line', (line) => {
      const announced = JSON.parse(line) as { ready?: boolean; dead?: number[] };
      if (announced.ready) ready(announced.dead ?? []);
      else fail(new Error(line));
    });
  });
  return {
    dead,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
