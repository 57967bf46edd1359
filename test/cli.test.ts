import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { CLI, eventually, freeLoopbackBlock, freePort, REPO_ROOT, runCli, spawnProcess, type LoopbackBlock } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'potencia-cli-'));
function writeConfig(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

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
    expect((await runCli(['check-config', join(dir, 'missing.yaml')])).stderr).toMatch(/missing\.yaml: invalid configuration\n\s+cannot read: ENOENT/);
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
});
