/**
 * Runs a simulated farm in its own process, so a benchmark does not count the farm's CPU against the agent.
 *
 *   node dist/simulator/cli.js --devices N [--mode address|port] [--host H] [--port P] [--seed S] [--no-failures]
 *
 * When every miner listens it prints exactly one JSON line on stdout, then runs until SIGTERM/SIGINT:
 *
 *   {"ready":true,"miners":N,"mode":"address","first":"cgminer://127.1.0.1:4028","last":"cgminer://127.1.39.16:4028",
 *    "dead":[...indexes],"targets":[...all URLs]}
 *
 * `first`..`last` is always a contiguous range of exactly N miners (consecutive addresses in address mode,
 * consecutive ports in port mode), so a consumer can expand it itself. `targets` lists every URL only when
 * N <= 1000 or with `--port 0` (OS-chosen ports are not a range); otherwise it is omitted (a farm-sized
 * list is one very long line). `dead` lists the
 * seed-chosen miners that refuse connections. Errors go to stderr with exit code 1.
 */
import { parseArgs } from 'node:util';
import { startFarm } from './farm.js';

const FULL_TARGET_LIST_MAX = 1000;

function fail(message: string): never {
  process.stderr.write(`${message.startsWith('simulator:') ? message : `simulator: ${message}`}\n`);
  process.exit(1);
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        devices: { type: 'string' },
        mode: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        seed: { type: 'string' },
        'no-failures': { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}

async function main(): Promise<void> {
  const values = parseOptions();
  const devices = integer('devices', values.devices) ?? fail('--devices N is required');
  const mode = values.mode ?? 'address';
  if (mode !== 'address' && mode !== 'port') fail(`--mode must be address or port, got "${mode}"`);

  const farm = await startFarm({
    devices,
    mode,
    host: values.host,
    port: integer('port', values.port),
    seed: integer('seed', values.seed),
    failures: !values['no-failures'],
  }).catch((err: Error) => fail(err.message));

  const urls = farm.miners.map((m) => m.url);
  const isContiguous = mode === 'address' || values.port !== '0';
  const ready = {
    ready: true,
    miners: urls.length,
    mode,
    first: urls[0],
    last: urls[urls.length - 1],
    dead: farm.faults().dead,
    ...(urls.length <= FULL_TARGET_LIST_MAX || !isContiguous ? { targets: urls } : {}),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  const shutdown = () => {
    farm.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

void main();
