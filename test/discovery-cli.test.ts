import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScanResult } from '../collectors/cgminer/discovery.js';
import { progressLine, runScanCommand, scanConfigYaml } from '../agent/scan-cli.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { pathToFileURL } from 'node:url';
import { CLI, freeLoopbackBlock, freePorts, runCli } from './helpers.js';
import { FLOOR_PROTOCOLS } from '../collectors/scan-protocols.js';

/**
 * The built CLI's main() in this process, for cases where starting the binary would add a second or
 * two each and prove nothing more (it resolves package.json from dist/, so the built module it is).
 */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = (await import(pathToFileURL(CLI.replace(/bin\.js$/, 'cli.js')).href)) as typeof import('../agent/cli.js');
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

// Every protocol on a free port, told to the scan with --port and --ports: nothing here binds or needs a fixed port.
const [CGMINER, V3, WEB] = (await freePorts(3)) as [number, number, number];
const PORTS = ['--port', String(CGMINER), '--ports', `whatsminer-v3=${V3},antminer-web=${WEB}`, '--ports', `bitaxe=${WEB},proto=${WEB},goldshell=${WEB},epic=${CGMINER}`];
const block = await freeLoopbackBlock({ ports: [CGMINER, V3, WEB] });
const NET = block.net;
const RANGE = block.cidr(28);
const dir = mkdtempSync(join(tmpdir(), 'potencia-scan-'));

/** `potencia scan` through the built binary against 6 simulated miners (one dead) in a /28 of a free loopback block. */
describe('potencia scan', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({ devices: 6, seed: 21, mode: 'address', host: `${NET}.1`, port: CGMINER, failures: false });
    await farm.kill(5);
  });
  afterAll(async () => farm?.stop());

  it('prints the miners, then the silent count, and nothing on stderr when it is not a terminal', async () => {
    const r = await runCli(['scan', RANGE, ...PORTS, '--timeout', '2s']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [miners, silent, summary] = r.stdout.split('\n\n');
    const lines = miners!.split('\n');
    expect(lines[0]).toBe('MINERS (5)');
    expect(lines[1]).toMatch(/^ADDRESS\s+PORT\s+PROTOCOL\s+VENDOR\s+MODEL\s+FIRMWARE\s+DIALECT\s+TH\/s$/);
    expect(lines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual([1, 2, 3, 4, 5].map((n) => `${NET}.${n}`));
    expect(lines[2]).toContain(farm.miners[0]!.model.model);
    expect(silent).toBe(`SILENT: 9 addresses refused or did not answer a connection on ports ${CGMINER}, ${V3}, ${WEB} (--list-silent lists them)`);
    expect(summary).toMatch(/^Scanned 14 addresses in \d+\.\d s \(probe \d+\.\d s, identify \d+\.\d s\)\.\n?$/);
  });

  it('--json prints the ScanResult; --list-silent adds the silent addresses', async () => {
    const r = await cli(['scan', RANGE, ...PORTS, '--json', '--list-silent', '--concurrency', '4']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as ScanResult;
    expect(result.identified).toHaveLength(5);
    expect(result.protocol_ports).toEqual({ 'whatsminer-v3': V3, 'antminer-web': WEB, bitaxe: WEB, proto: WEB, goldshell: WEB, epic: CGMINER });
    expect(result.identified[0]).toMatchObject({
      url: `cgminer://${NET}.1:${CGMINER}`,
      vendor: farm.miners[0]!.model.vendor,
      model: farm.miners[0]!.model.model,
      dialect: expect.any(String),
    });
    expect(result.unidentified).toEqual([]);
    expect(result.silent.hosts).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14].map((n) => `${NET}.${n}`));
  });

  it('--write-config writes a config that check-config accepts, and refuses to overwrite without --force', async () => {
    const file = join(dir, 'found.yaml');
    const r = await runCli(['scan', RANGE, ...PORTS, '--write-config', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`wrote ${file}: 5 target(s)`);
    const text = readFileSync(file, 'utf8');
    // The defaults are left out of the command it echoes (epic's 4028, say), the moved ports kept.
    const epic = CGMINER === 4028 ? '' : `,epic=${CGMINER}`;
    expect(
      text.startsWith(
        `# Written by "potencia scan ${RANGE} --port ${CGMINER} --ports whatsminer-v3=${V3},antminer-web=${WEB},bitaxe=${WEB},proto=${WEB},goldshell=${WEB}${epic}" at `,
      ),
    ).toBe(true);
    expect(text).toContain(`  - url: cgminer://${NET}.1:${CGMINER} # ${farm.miners[0]!.model.vendor} ${farm.miners[0]!.model.model}, `);
    const check = await runCli(['check-config', file]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('5 target entries expanding to 5 endpoint(s)');

    writeFileSync(file, 'mine\n');
    const refused = await cli(['scan', RANGE, ...PORTS, '--write-config', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/exists; add --force/);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
    expect((await cli(['scan', RANGE, ...PORTS, '--write-config', file, '--force'])).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^# Written by/);
  });

  it('check-config refuses a discovery account that miner_credentials lacks, in one line, exit 2', async () => {
    const file = join(dir, 'accounts.yaml');
    writeFileSync(file, `discovery:\n  ranges: ["${RANGE}"]\n  accounts: { antminer-web: fleet }\nminer_credentials:\n  other: { user: root, password: root }\n`);
    const r = await runCli(['check-config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/discovery\.accounts\.antminer-web: no miner_credentials entry named "fleet"/);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => /discovery\.accounts/.test(l)),
    ).toEqual([`  discovery.accounts.antminer-web: no miner_credentials entry named "fleet" (line 3)`]);
  });

  it('exits 2 with the reason for usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['scan'], /at least one CIDR or RANGE/],
      [['scan', '10.0.0.0/33'], /not an IPv4 CIDR/],
      [['scan', RANGE, '--port', '70000'], /--port: expected 1-65535/],
      [['scan', RANGE, '--timeout', 'soon'], /--timeout: expected a duration/],
      [['scan', RANGE, '--force'], /--force only goes with --write-config/],
      [['scan', RANGE, '--ports', 'snmp=161'], /--ports: unknown protocol "snmp"; one of whatsminer-v3, antminer-web, bitaxe, proto, goldshell, epic /],
      [['scan', RANGE, '--ports', 'antminer-web=70000'], /--ports: antminer-web: expected 1-65535, got 70000/],
      [['scan', RANGE, '--ports', 'antminer-web'], /--ports: expected SCHEME=PORT like "whatsminer-v3=14433", got "antminer-web"/],
      [['scan', RANGE, '--ports', 'cgminer=4029'], /--ports: the CGMiner API port is --port N/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
    const help = await cli(['scan', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: potencia scan CIDR\|RANGE\.\.\./);
    // The help's defaults are the protocols' own.
    expect(help.stdout).toContain(`(defaults\n${' '.repeat(23)}${FLOOR_PROTOCOLS.map((p) => `${p.scheme}=${p.port}`).join(', ')})`);
  });

  it('draws a progress bar on a terminal and clears it before the report', async () => {
    const drawn: string[] = [];
    const tty = { isTTY: true, write: (chunk: string) => drawn.push(chunk) } as unknown as NodeJS.WriteStream;
    const out: string[] = [];
    const code = await runScanCommand(
      {
        ranges: [RANGE],
        port: CGMINER,
        protocolPorts: { 'whatsminer-v3': V3, 'antminer-web': WEB, bitaxe: WEB, proto: WEB, goldshell: WEB, epic: CGMINER },
        probeConcurrency: 16,
        identifyTimeoutMs: 2000,
        json: false,
        listSilent: false,
        force: false,
      },
      { out: (t) => out.push(t), err: (t) => out.push(t) },
      tty,
    );
    expect(code).toBe(0);
    expect(drawn).toContain(`\r${progressLine({ stage: 'probe', done: 14, total: 14 })}\x1b[K`);
    expect(drawn).toContain(`\r${progressLine({ stage: 'identify', done: 5, total: 5 })}\x1b[K`);
    expect(drawn.at(-1)).toBe('\r\x1b[K');
    expect(out[0]).toMatch(/^MINERS \(5\)/);
  });

  it('keeps whatever a firmware reports on its comment line, and writes an empty list when nothing was found', () => {
    const base: ScanResult = {
      ranges: ['10.0.0.0/30'],
      port: 4029,
      ports: [4029, 4433, 80, 4028],
      protocol_ports: { 'whatsminer-v3': 4433, 'antminer-web': 80, bitaxe: 80, proto: 80, goldshell: 80, epic: 4028 },
      scanned: 2,
      identified: [],
      unidentified: [],
      silent: { count: 2 },
      duration_ms: { probe: 1, identify: 0 },
    };
    const found = scanConfigYaml(
      {
        ...base,
        identified: [
          { url: 'cgminer://10.0.0.1:4029', host: '10.0.0.1', port: 4029, protocol: 'cgminer', model: 'Antminer S9\nAntminer S9 (bmminer)', firmware: 'x\r\0y' },
          { url: 'antminer-web://10.0.0.2:80', host: '10.0.0.2', port: 80, protocol: 'antminer-web', vendor: 'Bitmain', dialect: 'antminer-web' },
        ],
      },
      new Date(0),
    );
    expect(found.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      'targets:',
      '  - url: cgminer://10.0.0.1:4029 # Antminer S9 Antminer S9 (bmminer), x y',
      // A scan holds no account: the line says how to give one rather than leave the miner down unexplained.
      '  - url: antminer-web://10.0.0.2:80 # Bitmain; needs an account: antminer-web://NAME@HOST with miner_credentials.NAME',
      '',
    ]);
    expect(found).toMatch(/^# Written by "potencia scan 10\.0\.0\.0\/30 --port 4029" at 1970-01-01T00:00:00\.000Z\./);
    expect(scanConfigYaml(base, new Date(0))).toMatch(/\ntargets: \[\]\n$/);
  });

  it('renders progress as a count, an eighth-block bar and a percentage', () => {
    expect(progressLine({ stage: 'probe', done: 12034, total: 65534 })).toBe(`probe    12034/65534 ▕███▋${' '.repeat(16)}▏ 18%`);
    expect(progressLine({ stage: 'identify', done: 7, total: 7 })).toBe(`identify 7/7 ▕${'█'.repeat(20)}▏ 100%`);
    expect(progressLine({ stage: 'identify', done: 0, total: 0 })).toBe(`identify 0/0 ▕${'█'.repeat(20)}▏ 100%`);
  });
});
