import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_FIXTURES = resolve(REPO_ROOT, '..', 'shared', 'fixtures');
export const CLI = resolve(REPO_ROOT, 'dist', 'agent', 'bin.js');

export { freeLoopbackBlock, freePort, freePorts, type LoopbackBlock } from '../bench/support.js';

const CGMINER = resolve(REPO_ROOT, 'collectors', 'cgminer');

/**
 * The path of a CGMiner reply written for the tests, by file name: each lives in the testdata/ of the
 * dialect it belongs to, or in the protocol's own testdata/ when no dialect owns it.
 */
export function cgminerTestdata(file: string): string {
  const dialects = resolve(CGMINER, 'dialects');
  const folders = [
    resolve(CGMINER, 'testdata'),
    ...readdirSync(dialects, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => resolve(dialects, e.name, 'testdata')),
  ];
  const found = folders.map((folder) => resolve(folder, file)).filter((path) => existsSync(path));
  if (found.length !== 1) throw new Error(`${file}: ${found.length ? `in ${found.length} testdata folders` : 'in no CGMiner testdata folder'}`);
  return found[0]!;
}

/**
 * What a test does without something it needs from outside the repository: under CI=true it fails (CI
 * provides everything, so absence means a broken setup and a skip would pass for a success); elsewhere
 * the tests that need it skip, and the run's output says what was missing and how to get it.
 */
function missing(what: string, remedy: string): undefined {
  if (process.env.CI === 'true') throw new Error(`${what} is missing; ${remedy} (CI=true makes this a failure, not a skip)`);
  console.warn(`SKIPPED: the tests that need ${what} (missing; ${remedy})`);
  return undefined;
}

/** Where a real component (prometheus, promtool, mosquitto, snmpsimd) is; `missing` when not installed. */
export function findTool(name: string): string | undefined {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name));
  return onPath.find(isExecutable) ?? missing(name, '.ci/run installs it');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A folder of real device captures under ../shared/fixtures (e.g. `cgminer/field`); `missing` when absent. */
export function sharedFixtures(folder: string): string | undefined {
  const path = resolve(SHARED_FIXTURES, folder);
  return existsSync(path) ? path : missing(path, 'the conformance tests read the shared captures from a checkout beside this one');
}

/** Waits for an external process to reach a state: re-checks `probe` until it returns a value or time runs out. */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnProcess(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Spawned {
  const child = spawn(command, args, { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, output: () => out, exited };
}

/** Runs the built CLI without blocking this process's event loop (the simulated farm answers from it). */
export async function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

export interface TcpGate {
  port: number;
  /** While false, new connections are refused (closed at once); existing ones keep flowing. */
  open: boolean;
  /** Cuts the link: closes every connection through the gate and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP relay on a free loopback port to 127.0.0.1:`upstreamPort`, standing for a link the test can cut. */
export async function tcpGate(upstreamPort: number): Promise<TcpGate> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!gate.open) return void client.destroy();
    const upstream = connect(upstreamPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gate: TcpGate = {
    port: (server.address() as { port: number }).port,
    open: true,
    cut() {
      gate.open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      gate.open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return gate;
}

/**
 * A test CA (`<ca>.crt`, `<ca>.key`) in `dir` and certificates it signs (`<name>.crt`, `<name>.key`),
 * P-256, valid a day; a server certificate names 127.0.0.1 and localhost.
 */
export function makeCertificates(openssl: string, dir: string, ca: string, certs: { name: string; cn: string; server?: boolean }[]): void {
  const run = (args: string[]) => {
    const r = spawnSync(openssl, args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  if (!existsSync(join(dir, `${ca}.crt`))) run(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '1', '-subj', `/CN=potencia test CA ${ca}`]);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const { name, cn, server } of certs) {
    run(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      ...(server ? ['-extfile', 'server.ext'] : []),
    ]);
  }
}
