import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeTooOld } from '../agent/node-version.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { apcRpdu2Recording, startSnmpSim } from '../simulator/snmp.js';
import { CLI, eventually, findTool, freeLoopbackBlock, freePort, REPO_ROOT, runCli, spawnProcess, type LoopbackBlock } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'potencia-cli-'));
function writeConfig(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('the Node.js version check', () => {
  it("refuses a Node older than package.json's engines in one line, and accepts that version and newer ones", () => {
    expect(nodeTooOld('20.14.0', '>=20.15')).toBe('potencia: needs Node.js 20.15 or newer; this is Node.js 20.14.0');
    expect(nodeTooOld('18.20.1', '>=20.15')).toMatch(/^potencia: needs Node\.js 20\.15 or newer/);
    for (const running of ['20.15.0', '20.20.2', '22.1.0', '24.0.0']) expect(nodeTooOld(running, '>=20.15'), running).toBeUndefined();
    expect(nodeTooOld('20.0.0', '>=20')).toBeUndefined();
    expect(nodeTooOld('19.9.0', '>=20')).toBe('potencia: needs Node.js 20.0 or newer; this is Node.js 19.9.0');
    // The shipped package.json is what is checked, and the Node running these tests passes it.
    const shipped = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(nodeTooOld(process.versions.node, shipped)).toBeUndefined();
    expect(nodeTooOld('20.14.9', shipped)).toMatch(/needs Node\.js 20\.15 or newer/);
  });
});

describe('potencia CLI (the built binary)', () => {
  let farm: Farm;
  let block: LoopbackBlock;
  beforeAll(async () => {
    block = await freeLoopbackBlock();
    farm = await startFarm({ devices: 4, seed: 3, mode: 'address', host: block.host(1), failures: false });
    await farm.kill(3);
  });
  afterAll(async () => farm?.stop());

  it('has --help on every command, exit 0, and exit 2 for an unknown command or option', async () => {
    const commands = ['run', 'demo', 'poll', 'check-config', 'schema', 'version'];
    const helps = await Promise.all(commands.map((command) => runCli([command, '--help'])));
    helps.forEach((r, i) => {
      expect(r.code, commands[i]).toBe(0);
      expect(r.stdout, commands[i]).toMatch(/^Usage: potencia /);
    });
    expect((await runCli(['--help'])).stdout).toMatch(/Commands:/);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['chek-config'])).stderr).toMatch(/^potencia: unknown command "chek-config" \(did you mean "check-config"\?\); commands: run, demo, poll/);
    const badOption = await runCli(['poll', '--bogus', `cgminer://${block.host(1)}`]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/bogus/);
  });

  it('poll --json prints an array of snapshots and exits 1 when a device is down', async () => {
    const r = await runCli(['poll', '--json', '--timeout', '2s', `cgminer://${block.host(1)}-${block.host(4)}`]);
    expect(r.code).toBe(1);
    const snapshots = JSON.parse(r.stdout) as DeviceSnapshot[];
    expect(snapshots.map((s) => s.id)).toEqual([`asic/${block.host(1)}`, `asic/${block.host(2)}`, `asic/${block.host(3)}`, `asic/${block.host(4)}`]);
    expect(snapshots.slice(0, 3).every((s) => s.up && s.hashrate_hs! > 1e12)).toBe(true);
    expect(snapshots[3]).toMatchObject({ up: false, error_reason: 'refused' });
  });

  it('poll prints a table, exit 0 when all are up; a bad target URL is a usage error', async () => {
    const r = await runCli(['poll', `cgminer://${block.host(1)}`, `cgminer://${block.host(2)}:4028`]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^DEVICE\s+UP\s+MODEL/);
    expect(r.stdout).toMatch(new RegExp(`asic/${block.host(2).replaceAll('.', '\\.')}\\s+yes\\s+Antminer`));
    const bad = await runCli(['poll', 'ftp://x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown scheme "ftp"/);
  });

  it('check-config names every problem with its path and line, exit 2; the shipped example is valid', async () => {
    const bad = writeConfig('bad.yaml', 'polling:\n  interval: 30\n  concurrency: 0\ntargets:\n  - url: cgminer://10.0.0.1\n    lables: {rack: a}\n');
    const r = await runCli(['check-config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('polling.interval: expected a duration like "30s"');
    expect(r.stderr).toMatch(/polling\.concurrency: .*(line 3)/);
    expect(r.stderr).toMatch(/targets\[0\]: unknown key "lables"/);
    const example = await runCli(['check-config', join(REPO_ROOT, 'config', 'potencia.example.yaml')], { POTENCIA_SITE: 'x' });
    expect(example.stderr).toBe('');
    expect(example.code).toBe(0);
    expect((await runCli(['check-config', join(dir, 'missing.yaml')])).stderr).toMatch(/missing\.yaml: invalid configuration\n\s+cannot read config file .*missing\.yaml: ENOENT/);
  });

  it('run: serves metrics, reloads on SIGHUP (keeping the old config when the new one is invalid), drains on SIGTERM within 5 s', async () => {
    const port = await freePort();
    const config = writeConfig('run.yaml', `agent:\n  listen: "127.0.0.1:${port}"\npolling:\n  interval: 1s\n  timeout: 500ms\ntargets:\n  - url: cgminer://${block.host(1)}\n`);
    const agent = spawnProcess(process.execPath, [CLI, 'run', '--config', config]);
    try {
      const devices = async () => (await (await fetch(`http://127.0.0.1:${port}/api/devices`)).json()) as DeviceSnapshot[];
      await eventually(async () => (await devices()).length === 1 || undefined, 'first poll');

      writeFileSync(config, 'agent: [not, a, mapping\n');
      agent.child.kill('SIGHUP');
      await eventually(() => /config reload failed/.test(agent.output()) || undefined, 'reload failure logged');
      expect((await devices()).length).toBe(1);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/potencia_config_reload_total\{result="failure"\} 1/);

      writeFileSync(config, `agent:\n  listen: "127.0.0.1:${port}"\npolling:\n  interval: 1s\n  timeout: 500ms\ntargets:\n  - url: cgminer://${block.host(1)}-2\n`);
      agent.child.kill('SIGHUP');
      await eventually(async () => (await devices()).length === 2 || undefined, 'reloaded targets polled');

      const stopAt = Date.now();
      agent.child.kill('SIGTERM');
      const { code } = await agent.exited;
      expect(code).toBe(0);
      expect(Date.now() - stopAt).toBeLessThan(5000);
    } finally {
      agent.child.kill('SIGKILL');
    }
  });

  it('`potencia demo --mqtt` refuses a URL that is not a broker before starting anything', async () => {
    const result = await runCli(['demo', '--mqtt', 'http://broker:1883']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--mqtt: expected a broker URL like mqtt://127.0.0.1:1883, got "http://broker:1883"');
  });

  it('run with an invalid config fails at start with exit 2 and the path of the fault', async () => {
    const bad = writeConfig('start-bad.yaml', 'targets:\n  - url: cgminer://10.0.0.1-10.0.0.300\n');
    const r = await runCli(['run', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/targets\[0\]\.url: .*10\.0\.0\.1-10\.0\.0\.300/);
  });

  it('a taken --listen port is one line and exit 1, an impossible one a usage error (exit 2); no stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const config = writeConfig('taken.yaml', `targets:\n  - url: cgminer://${block.host(1)}\n`);
      const r = await runCli(['run', '--config', config, '--listen', `127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`potencia run: cannot listen on 127.0.0.1:${port}: the address is already in use (another agent or demo running?)`);
      const fromConfig = await runCli(['run', '--config', writeConfig('taken2.yaml', `agent:\n  listen: "127.0.0.1:${port}"\n`)]);
      expect(fromConfig.code).toBe(1);
      expect(fromConfig.stderr).not.toMatch(/\n\s+at /);
      const invalid = await runCli(['run', '--config', config, '--listen', '127.0.0.1:99999']);
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toBe('potencia run: --listen: port 99999 is out of range (0-65535) in "127.0.0.1:99999" (see "potencia run --help")\n');
      const checked = await runCli([
        'check-config',
        writeConfig('bad-listen.yaml', 'agent:\n  listen: 127.0.0.1:99999\ntargets:\n  - url: cgminer://127.61.0.300\n  - url: cgminer://h:abc\n'),
      ]);
      expect(checked.code).toBe(2);
      expect(checked.stderr.split('\n').slice(1)).toEqual([
        '  agent.listen: port 99999 is out of range (0-65535) in "127.0.0.1:99999" (line 2)',
        '  targets[0].url: "127.61.0.300" is not an IPv4 address (four numbers 0-255) (line 4)',
        '  targets[1].url: "h:abc" is not a host: a port must be a number from 1 to 65535 (line 5)',
        '',
      ]);
      expect((await runCli(['check-config', writeConfig('empty.yaml', '')])).stderr).toContain('the file is empty');
    } finally {
      taken.close();
    }
  });

  it('demo with its port taken exits with one line and leaves no farm listening and no child (snmpsimd) running', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    const farmBlock = await freeLoopbackBlock();
    try {
      // Its own process group: whatever it starts is found by the group id after it has exited.
      const demo = spawn(process.execPath, [CLI, 'demo', '--devices', '3', '--listen', `127.0.0.1:${port}`, '--farm-host', farmBlock.host(1)], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      demo.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      demo.stdout.resume();
      const killer = setTimeout(() => process.kill(-demo.pid!, 'SIGKILL'), 20_000);
      const [code] = (await once(demo, 'exit')) as [number | null];
      clearTimeout(killer);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`potencia demo: cannot listen on 127.0.0.1:${port}: the address is already in use (another agent or demo running?)`);
      for (let i = 1; i <= 3; i++) expect(await connects(farmBlock.host(i), 4028), `miner ${i}`).toBe(false);
      await eventually(() => processesInGroup(demo.pid!).length === 0 || undefined, "no process left in the demo's group", 5000);
    } finally {
      taken.close();
    }
  });

  it('poll ends at its --deadline with the outstanding targets down (timeout), and prints no listener warning for many targets', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    const snmpPort = silent.address().port;
    try {
      const started = Date.now();
      const r = await runCli(['poll', '--json', '--timeout', '20s', '--deadline', '1s', `snmp://public@127.0.0.1:${snmpPort}`, `cgminer://${block.host(1)}`]);
      expect(Date.now() - started).toBeLessThan(8000);
      expect(r.code).toBe(1);
      const [pdu, miner] = JSON.parse(r.stdout) as DeviceSnapshot[];
      expect(pdu).toMatchObject({ up: false, error_reason: 'timeout', error: "no reply within the command's deadline of 1s" });
      expect(miner).toMatchObject({ up: true });
      const many = await runCli([
        'poll',
        '--json',
        '--timeout',
        '2s',
        `cgminer://${block.host(1)}-${block.host(3)}`,
        ...Array.from({ length: 12 }, (_, i) => `cgminer://${block.host(1)}:${4100 + i}`),
      ]);
      expect((JSON.parse(many.stdout) as DeviceSnapshot[]).length).toBe(15);
      expect(many.stderr).not.toMatch(/MaxListenersExceededWarning/);
    } finally {
      silent.close();
    }
  });

  it.skipIf(!findTool('snmpsimd'))('poll of an SNMP agent too slow to finish its walk ends at the default deadline, down with reason timeout', async () => {
    const sim = await startSnmpSim({ recordings: [{ community: 'slow', text: apcRpdu2Recording(Array.from({ length: 24 }, (_, i) => ({ name: `o${i}`, power_w: 100 + i }))) }] });
    // Every reply held back 600 ms: each request in time, the whole walk far past the command's deadline.
    const proxy = createSocket('udp4');
    const upstream = createSocket('udp4');
    let client: { address: string; port: number } | undefined;
    proxy.on('message', (msg, from) => {
      client = { address: from.address, port: from.port };
      upstream.send(msg, sim.port, sim.host);
    });
    const held = new Set<NodeJS.Timeout>();
    upstream.on('message', (msg) => {
      const timer = setTimeout(() => {
        held.delete(timer);
        if (client) proxy.send(msg, client.port, client.address);
      }, 600);
      held.add(timer);
    });
    await new Promise<void>((r) => proxy.bind(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const r = await runCli(['poll', '--json', '--timeout', '2s', `snmp://slow@127.0.0.1:${proxy.address().port}?profile=apc-rpdu2`]);
      const took = Date.now() - started;
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ up: false, error_reason: 'timeout' })]);
      // 2 s timeout × (2 + 1 round) = 6 s, plus the process's start and exit.
      expect(took).toBeGreaterThan(2000);
      expect(took).toBeLessThan(10_000);
    } finally {
      for (const timer of held) clearTimeout(timer);
      proxy.close();
      upstream.close();
      await sim.stop();
    }
  });

  it('a ${file:} secret swapped for a FIFO fails the SIGHUP reload without freezing the daemon', async () => {
    const port = await freePort();
    const secret = join(dir, 'site-secret');
    writeFileSync(secret, 'farm-7\n');
    const config = writeConfig(
      'fifo.yaml',
      `agent:\n  listen: "127.0.0.1:${port}"\nlabels:\n  site: "\${file:site-secret}"\npolling:\n  interval: 1s\n  timeout: 500ms\ntargets:\n  - url: cgminer://${block.host(1)}\n`,
    );
    const agent = spawnProcess(process.execPath, [CLI, 'run', '--config', config]);
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok || undefined, 'agent up');
      rmSync(secret);
      execFileSync('mkfifo', [secret]);
      agent.child.kill('SIGHUP');
      await eventually(() => /config reload failed/.test(agent.output()) || undefined, 'reload failure logged', 5000);
      expect(agent.output()).toContain(`secret file ${secret} is a FIFO; only a regular file is read`);
      const asked = Date.now();
      expect((await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })).ok).toBe(true);
      expect(Date.now() - asked).toBeLessThan(1000);
      expect(agent.output()).not.toContain('farm-7');
    } finally {
      agent.child.kill('SIGKILL');
    }
  });
});

async function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Live processes whose process group is `pgid` (from /proc; zombies count as gone). */
function processesInGroup(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
