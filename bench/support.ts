import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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
 * A simulated farm in a child process (`simulator/cli.js`), so its CPU is not counted against the
 * agent being measured; resolves once it announces it is listening.
 */
export async function startFarmProcess(devices: number, firstHost: string, seed: number): Promise<FarmProcess> {
  const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'simulator', 'cli.js');
  const child = spawn(process.execPath, [cli, '--devices', String(devices), '--host', firstHost, '--seed', String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
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
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
