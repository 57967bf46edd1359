/**
 * SNMP agents for the demo and the tests: a real `snmpsimd` (Debian package snmpsim) serving
 * `.snmprec` recordings on loopback UDP, plus a generator for an APC rPDU2 recording whose outlets
 * carry the watts the demo says. snmpsimd serves each file under the community named after it
 * (and the SNMPv3 context of the same name).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import snmp from 'net-snmp';

export interface RecordingFile {
  /** The community (and v3 context) it is served under: the file name without `.snmprec`. */
  community: string;
  /** The recording's text, or a path to copy it from. */
  text?: string;
  path?: string;
}

export interface SnmpSimV3User {
  user: string;
  authKey: string;
  authProto: 'MD5' | 'SHA' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512';
  privKey: string;
  privProto: 'DES' | 'AES' | 'AES192' | 'AES256';
}

export interface SnmpSimOptions {
  recordings: RecordingFile[];
  /** UDP port on 127.0.0.1; default a free one. */
  port?: number;
  /**
   * Further free ports to listen on as well: every port serves every recording, so several
   * simulated PDUs can each have an address of their own (targets are keyed by host and port).
   */
  extraPorts?: number;
  v3User?: SnmpSimV3User;
  /** Path to snmpsimd; default the one on PATH. */
  executable?: string;
  /** How long to wait for the first answer. */
  startTimeoutMs?: number;
}

export interface SnmpSim {
  host: string;
  port: number;
  /** `port` followed by the extra ones. */
  ports: number[];
  /** `snmp://COMMUNITY@127.0.0.1:PORT` for one of the recordings, on `ports[endpoint]`. */
  url(community: string, query?: string, endpoint?: number): string;
  /**
   * Replaces a recording while snmpsimd runs: it re-indexes a file whose mtime changed at its next
   * request. The file is renamed into place whole, and its mtime moved on by at least a second
   * (snmpsimd compares whole seconds).
   */
  replaceRecording(community: string, text: string): void;
  stop(): Promise<void>;
}

/** Where snmpsimd is, or undefined when it is not installed. */
export function findSnmpsimd(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v snmpsimd'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
}

/** A UDP port free right now on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/**
 * Starts snmpsimd on 127.0.0.1 serving `recordings` from a fresh temp folder, and resolves once it
 * answers a GET. snmpsimd refuses to run as root, so as root it drops to nobody:nogroup, which
 * must be able to read the data folder and write the index cache.
 */
export async function startSnmpSim(options: SnmpSimOptions): Promise<SnmpSim> {
  const executable = options.executable ?? findSnmpsimd();
  if (!executable) throw new Error('snmpsimd is not installed (Debian/Ubuntu: apt-get install snmpsim)');
  if (options.recordings.length === 0) throw new Error('startSnmpSim needs at least one recording');
  const root = mkdtempSync(join(tmpdir(), 'potencia-snmpsim-'));
  const dataDir = join(root, 'data');
  const cacheDir = join(root, 'cache');
  mkdirSync(dataDir);
  mkdirSync(cacheDir);
  for (const recording of options.recordings) {
    const file = join(dataDir, `${recording.community}.snmprec`);
    if (recording.text !== undefined) writeFileSync(file, recording.text);
    else if (recording.path) copyFileSync(recording.path, file);
    else throw new Error(`recording ${recording.community} has neither text nor path`);
    chmodSync(file, 0o644);
  }
  chmodSync(root, 0o755);
  chmodSync(dataDir, 0o755);
  const args = [`--data-dir=${dataDir}`, `--cache-dir=${cacheDir}`, '--logging-method=null'];
  if (process.getuid?.() === 0) {
    const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
    const nogroup = spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' });
    const uid = Number(nobody.stdout.trim());
    const gid = Number(nogroup.stdout.split(':')[2]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) chownSync(cacheDir, uid, gid);
    args.push('--process-user=nobody', '--process-group=nogroup');
  }
  const port = options.port ?? (await freeUdpPort());
  const ports = [port];
  for (let i = 0; i < (options.extraPorts ?? 0); i++) ports.push(await freeUdpPort());
  for (const p of ports) args.push(`--agent-udpv4-endpoint=127.0.0.1:${p}`);
  if (options.v3User) {
    const u = options.v3User;
    args.push(`--v3-user=${u.user}`, `--v3-auth-key=${u.authKey}`, `--v3-auth-proto=${u.authProto}`, `--v3-priv-key=${u.privKey}`, `--v3-priv-proto=${u.privProto}`);
  }
  const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 16_384) stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(forced);
    cleanup();
  };
  try {
    await waitUntilAnswering(child, exited, port, options.recordings[0]!.community, options.startTimeoutMs ?? 30_000, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    ports,
    url: (community, query, endpoint = 0) => `snmp://${encodeURIComponent(community)}@127.0.0.1:${ports[endpoint]}${query ? `?${query}` : ''}`,
    replaceRecording(community, text) {
      const file = join(dataDir, `${community}.snmprec`);
      const previousS = Math.floor(statSync(file).mtimeMs / 1000);
      const staged = join(root, `${community}.snmprec.next`);
      writeFileSync(staged, text);
      chmodSync(staged, 0o644);
      const mtimeS = Math.max(Math.floor(Date.now() / 1000), previousS + 1);
      utimesSync(staged, mtimeS, mtimeS);
      renameSync(staged, file);
    },
    stop,
  };
}

/** Asks for sysObjectID until snmpsimd answers (it indexes the recordings first), it exits, or time runs out. */
async function waitUntilAnswering(child: ChildProcess, exited: Promise<number | null>, port: number, community: string, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    if (Date.now() > deadline) throw new Error(`snmpsimd did not answer on 127.0.0.1:${port} within ${timeoutMs} ms\n${stderr()}`);
    if (await answers(port, community)) return;
  }
  throw new Error(`snmpsimd exited with code ${child.exitCode}: ${stderr().slice(-2000)}`);
}

function answers(port: number, community: string): Promise<boolean> {
  return new Promise((resolve) => {
    const session = snmp.createSession('127.0.0.1', community, { port, version: snmp.Version2c, retries: 0, timeout: 250 });
    session.on('error', () => undefined);
    session.get(['1.3.6.1.2.1.1.2.0'], (error) => {
      session.close();
      resolve(!error);
    });
  });
}

export interface DemoOutlet {
  name: string;
  power_w: number;
  voltage_v?: number;
  /** The outlet's energy counter; default a year at its present draw. */
  energy_kwh?: number;
}

export interface DemoPduOptions {
  name?: string;
  /** The PDU's energy counter. */
  energyKwh?: number;
  model?: string;
  /** Phases the outlets are spread over, round robin (a rack of miners is fed three-phase). */
  phases?: number;
  /** What the PDU itself draws (its card, relays, display): metered in its total, on no outlet. */
  selfW?: number;
  /**
   * Zero-pads every number to one width, so a recording rewritten with new readings keeps every
   * line's byte offset: snmpsimd indexes by offset, and a reader between rewrite and re-index still
   * finds whole lines.
   */
  fixedWidth?: boolean;
}

/**
 * An APC rPDU2 recording (AP8xxx-style: sysObjectID 318.1.3.4.5) whose metered outlets draw the
 * given watts, with device, phase and energy figures that add up: what a real PDU would answer
 * with those loads on it. Single phase, 230 V unless told otherwise.
 */
export function apcRpdu2Recording(outlets: readonly DemoOutlet[], opts: DemoPduOptions = {}): string {
  const voltage = outlets[0]?.voltage_v ?? 230;
  const phases = opts.phases ?? 1;
  const total = outlets.reduce((sum, o) => sum + o.power_w, 0) + (opts.selfW ?? 0);
  const phaseW = Array.from({ length: phases }, (_, p) => outlets.reduce((sum, o, i) => sum + (i % phases === p ? o.power_w : 0), 0) + (opts.selfW ?? 0) / phases);
  const lines: [string, number, string | number][] = [
    [
      '1.3.6.1.2.1.1.1.0',
      4,
      `APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin AF1:v6.8.2 AN1:apc_hw05_rpdu2g_682.bin MN:${opts.model ?? 'AP8881'} HR:02 SN: 5A1234E00874 MD:08/13/2019)`,
    ],
    ['1.3.6.1.2.1.1.2.0', 6, '1.3.6.1.4.1.318.1.3.4.5'],
    ['1.3.6.1.2.1.1.3.0', 67, 123456789],
    ['1.3.6.1.2.1.1.5.0', 4, opts.name ?? 'demo-pdu'],
    ['1.3.6.1.4.1.318.1.1.26.2.1.1.6.1', 4, 'v6.8.2'],
    ['1.3.6.1.4.1.318.1.1.26.2.1.1.8.1', 4, opts.model ?? 'AP8881'],
    ['1.3.6.1.4.1.318.1.1.26.2.1.1.9.1', 4, '5A1234E00874'],
    ['1.3.6.1.4.1.318.1.1.26.4.3.1.5.1', 2, Math.round(total / 10)],
    ['1.3.6.1.4.1.318.1.1.26.4.3.1.9.1', 2, Math.round((opts.energyKwh ?? 123_456.7) * 10)],
  ];
  phaseW.forEach((w, p) => {
    const row = p + 1;
    lines.push(
      [`1.3.6.1.4.1.318.1.1.26.6.3.1.3.${row}`, 2, row],
      [`1.3.6.1.4.1.318.1.1.26.6.3.1.5.${row}`, 66, Math.round((w / voltage) * 10)],
      [`1.3.6.1.4.1.318.1.1.26.6.3.1.6.${row}`, 66, voltage],
      [`1.3.6.1.4.1.318.1.1.26.6.3.1.7.${row}`, 66, Math.round(w / 10)],
    );
  });
  // snmpsimd needs the file in OID order: columns first, then rows.
  const column = (col: number, value: (o: DemoOutlet, i: number) => string | number, type: number, table = '9.4.3.1') =>
    outlets.forEach((o, i) => {
      lines.push([`1.3.6.1.4.1.318.1.1.26.${table}.${col}.${i + 1}`, type, value(o, i)]);
    });
  column(3, (o) => o.name, 4, '9.2.3.1');
  column(5, () => 2, 2, '9.2.3.1');
  column(3, (o) => o.name, 4);
  column(4, (_o, i) => i + 1, 2);
  column(6, (o) => Math.round((o.power_w / (o.voltage_v ?? voltage)) * 10), 66);
  column(7, (o) => Math.round(o.power_w), 66);
  column(11, (o) => Math.round((o.energy_kwh ?? o.power_w * 0.024 * 365) * 10), 66);
  lines.sort((a, b) => compareOids(a[0], b[0]));
  const text = (type: number, value: string | number) => (opts.fixedWidth && type !== 4 && type !== 6 ? String(value).padStart(10, '0') : value);
  return `${lines.map(([oid, type, value]) => `${oid}|${type}|${text(type, value)}`).join('\n')}\n`;
}

function compareOids(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
