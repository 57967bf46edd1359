/**
 * The nvidia-smi collector against the simulator's fake nvidia-smi, run as a real process each poll:
 * driver generations, MIG, a hung binary, garbage, a missing driver, a lost GPU, overlap, ssh through a
 * fake `ssh` first on PATH, and `potencia poll` through the built CLI.
 */
import { collectOnce } from '../agent/scheduler.js';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { DeviceStore } from '../agent/state.js';
import { DeviceMetricsRenderer } from '../exporters/prometheus/renderer.js';
import { NvidiaSmiCollector } from '../collectors/nvidia/index.js';
import { canonicalUrl, parseTargetUrl } from '../collectors/target.js';
import type { Target } from '../collectors/contract.js';
import { eventually, findTool, REPO_ROOT, runCli } from './helpers.js';

const FAKE_DIR = join(REPO_ROOT, 'simulator', 'nvidia-smi');
const FAKE = join(FAKE_DIR, 'fake-nvidia-smi.mjs');
const FIXED_TIME = String(Date.parse('2026-03-01T12:00:00Z'));
const dir = mkdtempSync(join(tmpdir(), 'potencia-nvidia-'));
let logs = 0;

function targetOf(url: string, extra: Partial<Target> = {}): Target {
  const parsed = parseTargetUrl(url);
  const target: Target = {
    url: canonicalUrl(parsed.scheme, parsed.hosts[0]!, parsed.port, undefined, parsed.path),
    scheme: parsed.scheme,
    host: parsed.hosts[0]!,
    port: parsed.port,
    labels: { rack: 'g1' },
    intervalMs: 30_000,
    timeoutMs: 5000,
    ...extra,
  };
  if (parsed.path !== undefined) target.path = parsed.path;
  if (parsed.userinfo !== undefined) target.userinfo = parsed.userinfo;
  return target;
}

/** A collector on the fake with its own invocation log; `env` stays live, so a test can change the fake between polls. */
function fakeNode(url: string, fake: Record<string, string>, extra: Partial<Target> = {}, now?: () => number) {
  const log = join(dir, `calls-${++logs}.jsonl`);
  const env: NodeJS.ProcessEnv = { ...process.env, POTENCIA_FAKE_GPU_NODE: 'gpu-test', POTENCIA_FAKE_GPU_TIME: FIXED_TIME, POTENCIA_FAKE_GPU_LOG: log, ...fake };
  const collector = new NvidiaSmiCollector(targetOf(url, extra), now ? { env, now } : { env });
  const calls = (): { argv: string[]; child?: number }[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [];
  // Polled as the daemon polls it: a failed poll reports what the previous one read, down.
  let last: DeviceSnapshot[] = [];
  return { collector, env, calls, collect: async () => (last = await collectOnce(collector, new AbortController().signal, last)) };
}

/** Whether a process still runs: gone, or a zombie waiting to be reaped, is not running. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('nvidia-smi collector on the fake binary', () => {
  it('reads an 8× H100 node in one invocation, learns the fields once, and integrates energy between polls', async () => {
    let clock = Date.parse('2026-03-01T12:00:00Z');
    const node = fakeNode(`nvidia-smi://${FAKE}`, { POTENCIA_FAKE_GPU_PROFILE: 'h100' }, {}, () => clock);
    const first = await node.collect();
    expect(first).toHaveLength(8);
    expect(new Set(first.map((s) => s.id)).size).toBe(8);
    for (const s of first) {
      expect(s).toMatchObject({
        kind: 'gpu',
        up: true,
        target: `nvidia-smi://${FAKE}`,
        address: 'localhost',
        labels: { rack: 'g1' },
        model: 'NVIDIA H100 80GB HBM3',
        firmware: '570.133.20',
        power_source: 'gpu_counter',
      });
      expect(s.id).toMatch(/^gpu\/localhost\/GPU-[0-9a-f]{8}-/);
      expect(s.gpu).toMatchObject({
        uuid: s.id.slice('gpu/localhost/'.length),
        memory_total_bytes: 81559 * 1048576,
        power_limit_w: 700,
        pstate: 'P0',
        memory_clock_hz: 2619e6,
        ecc_errors_uncorrected: 0,
        mig_enabled: false,
        energy_j: 0,
      });
      expect(s.gpu).not.toHaveProperty('fan_speed_ratio'); // [N/A] on SXM boards
      expect(Object.keys(s.temperatures_c)).toEqual(['gpu', 'memory']);
      expect(s.power_w).toBeGreaterThan(60);
      expect(s.power_w).toBeLessThanOrEqual(700);
    }
    expect(first.map((s) => s.gpu!.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first[7]!.gpu).toMatchObject({ utilization_ratio: 0, throttle_reasons: ['gpu_idle'], sm_clock_hz: 345e6, memory_used_bytes: 0 });

    clock += 30_000;
    const second = await node.collect();
    // The fake's clock is pinned, so each GPU drew the same power at both polls: energy = P × 30 s.
    second.forEach((s, i) => {
      expect(s.gpu!.energy_j).toBeCloseTo(first[i]!.power_w! * 30, 3);
    });

    const calls = node.calls().map((c) => c.argv);
    expect(calls.filter((argv) => argv.includes('--help-query-gpu'))).toHaveLength(1);
    const queries = calls.filter((argv) => argv[0]!.startsWith('--query-gpu='));
    expect(queries).toHaveLength(2);
    expect(queries[0]![1]).toBe('--format=csv,noheader,nounits');
    expect(queries[0]![0]).toContain('clocks_event_reasons.active');
    expect(queries[0]![0]).toContain('power.draw.average');
  });

  it('asks an older driver (A100 profile) for clocks_throttle_reasons and power.draw only', async () => {
    const node = fakeNode(`nvidia-smi://${FAKE}`, { POTENCIA_FAKE_GPU_PROFILE: 'a100', POTENCIA_FAKE_GPU_COUNT: '2' });
    const snapshots = await node.collect();
    expect(snapshots.map((s) => [s.up, s.model])).toEqual([
      [true, 'NVIDIA A100-SXM4-80GB'],
      [true, 'NVIDIA A100-SXM4-80GB'],
    ]);
    expect(snapshots[1]!.gpu!.throttle_reasons).toEqual(['gpu_idle']);
    const query = node
      .calls()
      .map((c) => c.argv)
      .find((argv) => argv[0]!.startsWith('--query-gpu='))![0]!;
    expect(query).toContain('clocks_throttle_reasons.active');
    expect(query).not.toContain('clocks_event_reasons');
    expect(query).toContain('power.draw');
    expect(query).not.toContain('power.draw.average');
  });

  it('runs `nvidia-smi:` from PATH: a GeForce node with fan percentages, no HBM sensor and no ECC', async () => {
    const node = fakeNode('nvidia-smi:', { POTENCIA_FAKE_GPU_PROFILE: 'rtx4090', PATH: `${FAKE_DIR}:${process.env.PATH}` });
    const snapshots = await node.collect();
    expect(snapshots).toHaveLength(4);
    for (const s of snapshots) {
      expect(s).toMatchObject({ up: true, target: 'nvidia-smi:', model: 'NVIDIA GeForce RTX 4090', fans_rpm: [] });
      expect(s.gpu!.fan_speed_ratio).toBeGreaterThanOrEqual(0.3);
      expect(s.gpu!.fan_speed_ratio).toBeLessThanOrEqual(0.75);
      expect(Object.keys(s.temperatures_c)).toEqual(['gpu']);
      expect(s.gpu).not.toHaveProperty('ecc_errors_corrected');
      expect(s.gpu).not.toHaveProperty('mig_enabled');
    }
    expect(snapshots[3]!.gpu).toMatchObject({ pstate: 'P8', utilization_ratio: 0, power_limit_w: 450 });
  });

  it('reports no whole-GPU utilization in MIG mode', async () => {
    const snapshots = await fakeNode(`nvidia-smi://${FAKE}`, { POTENCIA_FAKE_GPU_COUNT: '1', POTENCIA_FAKE_GPU_MIG: '1' }).collect();
    expect(snapshots[0]!.gpu).toMatchObject({ mig_enabled: true });
    expect(snapshots[0]!.gpu).not.toHaveProperty('utilization_ratio');
    expect(snapshots[0]!.power_w).toBeGreaterThan(0);
  });

  it('kills a hung nvidia-smi with its whole process group at the timeout and marks the GPUs down (timeout)', async () => {
    const node = fakeNode(`nvidia-smi://${FAKE}`, { POTENCIA_FAKE_GPU_COUNT: '2' });
    const before = await node.collect();
    node.env.POTENCIA_FAKE_GPU_FAULT = 'hang';
    node.collector.target.timeoutMs = 1000;
    const started = Date.now();
    const after = await node.collect();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
    expect(after.map((s) => s.id)).toEqual(before.map((s) => s.id));
    for (const s of after) {
      expect(s).toMatchObject({ up: false, error_reason: 'timeout', kind: 'gpu', model: 'NVIDIA H100 80GB HBM3' });
      expect(s.error).toMatch(/did not finish within \d+ ms; its process group was killed/);
    }
    const grandchild = node.calls().find((c) => c.child !== undefined)!.child!;
    // SIGKILL lands asynchronously; the child the fake left holding the pipes must be gone shortly after.
    await eventually(() => !running(grandchild), `process ${grandchild} to be killed with its group`, 3000);
  });

  it('marks the GPUs down (malformed) when nvidia-smi prints garbage, and exec with its words when the driver is gone', async () => {
    const node = fakeNode(`nvidia-smi://${FAKE}`, { POTENCIA_FAKE_GPU_COUNT: '2' });
    await node.collect();
    node.env.POTENCIA_FAKE_GPU_FAULT = 'garbage';
    const garbage = await node.collect();
    expect(garbage.map((s) => [s.up, s.error_reason])).toEqual([
      [false, 'malformed'],
      [false, 'malformed'],
    ]);
    expect(garbage[0]!.error).toMatch(/^nvidia-smi printed no GPU rows: .*binary junk/);
    node.env.POTENCIA_FAKE_GPU_FAULT = 'nodriver';
    const nodriver = await node.collect();
    expect(nodriver.map((s) => s.error_reason)).toEqual(['exec', 'exec']);
    expect(nodriver[0]!.error).toMatch(/^nvidia-smi exited with status 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
    node.env.POTENCIA_FAKE_GPU_FAULT = '';
    expect((await node.collect()).every((s) => s.up)).toBe(true);
  });

  it('keeps the readable GPUs up when one has fallen off the bus, and says which one failed', async () => {
    const node = fakeNode(`nvidia-smi://${FAKE}`, { POTENCIA_FAKE_GPU_COUNT: '4' });
    const healthy = await node.collect();
    node.env.POTENCIA_FAKE_GPU_FAULT = 'lost:2';
    const snapshots = await node.collect();
    expect(snapshots.filter((s) => s.up).map((s) => s.gpu!.index)).toEqual([0, 1, 3]);
    const lost = snapshots.find((s) => !s.up)!;
    expect(lost).toMatchObject({ id: healthy[2]!.id, error_reason: 'exec', gpu: { index: 2 } });
    expect(lost.error).toMatch(/Unable to determine the device handle for GPU 00000000:3A:00.0: Unknown Error/);
  });

  it('a node that never answered is one down device; a missing binary says so', async () => {
    const snapshots = await fakeNode('nvidia-smi:///nonexistent/bin/nvidia-smi', {}).collect();
    expect(snapshots).toEqual([expect.objectContaining({ id: 'gpu/localhost', kind: 'gpu', up: false, error_reason: 'exec', address: 'localhost' })]);
    expect(snapshots[0]!.error).toBe('cannot run /nonexistent/bin/nvidia-smi: not found (is it installed and on PATH?)');
  });

  it('never runs two nvidia-smi at once on a node: an overlapping collect shares the poll in flight', async () => {
    const node = fakeNode(`nvidia-smi://${FAKE}`, { POTENCIA_FAKE_GPU_COUNT: '1' });
    const a = node.collector.collect(new AbortController().signal);
    const b = node.collector.collect(new AbortController().signal);
    expect(b).toBe(a);
    await a;
    expect(node.calls().filter((c) => c.argv[0]!.startsWith('--query-gpu='))).toHaveLength(1);
  });

  it('reaches a named node only through its command_prefix', async () => {
    const bare = await fakeNode(`nvidia-smi://gpu-node-1${FAKE}`, {}).collect();
    expect(bare[0]).toMatchObject({ id: 'gpu/gpu-node-1', up: false, error_reason: 'exec' });
    expect(bare[0]!.error).toMatch(/no command_prefix/);
    const prefixed = await fakeNode(`nvidia-smi://gpu-node-1${FAKE}`, {}, { commandPrefix: ['env', 'POTENCIA_FAKE_GPU_PROFILE=rtx4090', 'POTENCIA_FAKE_GPU_COUNT=2'] }).collect();
    expect(prefixed.map((s) => [s.up, s.model, s.address, s.target])).toEqual([
      [true, 'NVIDIA GeForce RTX 4090', 'gpu-node-1', `nvidia-smi://gpu-node-1${FAKE}`],
      [true, 'NVIDIA GeForce RTX 4090', 'gpu-node-1', `nvidia-smi://gpu-node-1${FAKE}`],
    ]);
  });
});

describe('GPU metric families', () => {
  // findTool throws under CI=true when promtool is missing: there it is a broken setup, not a skip.
  const promtool = findTool('promtool');

  it('render every GPU quantity in base units, and promtool finds nothing to report', async () => {
    let clock = Date.parse('2026-03-01T12:00:00Z');
    const node = fakeNode(`nvidia-smi://${FAKE}`, { POTENCIA_FAKE_GPU_PROFILE: 'rtx4090', POTENCIA_FAKE_GPU_COUNT: '2' }, {}, () => clock);
    await node.collect();
    clock += 15_000;
    const store = new DeviceStore();
    const [busy, idle] = await node.collect();
    store.upsert(busy!);
    store.upsert(idle!);
    const down = await fakeNode('nvidia-smi:///nonexistent/nvidia-smi', {}).collect();
    store.upsert(down[0]!);
    const text = new DeviceMetricsRenderer(store).render();
    const labels = `device="${idle!.id}",rack="g1"`;
    expect(text).toContain(`potencia_gpu_utilization_ratio{${labels}} 0\n`);
    expect(text).toContain(`potencia_gpu_memory_total_bytes{${labels}} ${24564 * 1048576}\n`);
    expect(text).toContain(`potencia_gpu_power_limit_watts{${labels}} 450\n`);
    expect(text).toContain(`potencia_gpu_clock_hertz{${labels},clock="sm"} 210000000\n`);
    expect(text).toContain(`potencia_gpu_clock_hertz{${labels},clock="memory"} 10501000000\n`);
    expect(text).toContain(`potencia_gpu_fan_speed_ratio{${labels}} 0.3\n`);
    expect(text).toContain(`potencia_gpu_pstate{${labels}} 8\n`);
    expect(text).toContain(`potencia_gpu_throttle_reason{${labels},reason="gpu_idle"} 1\n`);
    expect(text).toContain(`potencia_gpu_energy_joules_total{${labels}} ${22 * 15}\n`);
    expect(text).toContain('# TYPE potencia_gpu_energy_joules_total counter\n');
    expect(text).toContain(`potencia_device_power_watts{${labels},source="gpu_counter"} 22\n`);
    expect(text).not.toContain('potencia_gpu_ecc_errors_total'); // GeForce: no ECC
    expect(text).not.toContain('potencia_device_fan_speed_rpm');
    expect(text).toContain('potencia_device_error{device="gpu/localhost",rack="g1",reason="exec"} 1\n');
    if (!promtool) return;
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, stdout: check.stdout, stderr: check.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});

describe('nvidia-smi over ssh', () => {
  // A stand-in for ssh first on PATH: it records its argv, then runs the remote words through a local shell.
  const bin = mkdtempSync(join(tmpdir(), 'potencia-ssh-'));
  writeFileSync(
    join(bin, 'ssh'),
    `#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_SSH_ARGV"
if [ -n "$FAKE_SSH_REFUSE" ]; then echo "ssh: connect to host gpu-a port 2222: Connection refused" >&2; exit 255; fi
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done
shift
exec sh -c "$*"
`,
  );
  chmodSync(join(bin, 'ssh'), 0o755);

  it('runs nvidia-smi on the host through the system ssh with BatchMode, a connect timeout and the configured options', async () => {
    const argvFile = join(dir, 'ssh-argv.txt');
    const node = fakeNode(
      `nvidia-smi+ssh://ops@gpu-a:2222${FAKE}`,
      { PATH: `${bin}:${process.env.PATH}`, FAKE_SSH_ARGV: argvFile, POTENCIA_FAKE_GPU_COUNT: '2' },
      { sshOptions: ['-i', '/etc/potencia/id_ed25519'], timeoutMs: 6000 },
    );
    const snapshots = await node.collect();
    expect(snapshots.map((s) => [s.up, s.address, s.target])).toEqual([
      [true, 'gpu-a', `nvidia-smi+ssh://gpu-a:2222${FAKE}`],
      [true, 'gpu-a', `nvidia-smi+ssh://gpu-a:2222${FAKE}`],
    ]);
    const argv = readFileSync(argvFile, 'utf8').trimEnd().split('\n');
    const fields = node.collector.plan!.fields.join(',');
    expect(argv).toEqual([
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=3',
      '-p',
      '2222',
      '-i',
      '/etc/potencia/id_ed25519',
      'ops@gpu-a',
      '--',
      FAKE,
      `--query-gpu=${fields}`,
      '--format=csv,noheader,nounits',
    ]);
  });

  it('reads ssh failing to connect as the network fault it reports', async () => {
    const node = fakeNode('nvidia-smi+ssh://gpu-a:2222', { PATH: `${bin}:${process.env.PATH}`, FAKE_SSH_ARGV: join(dir, 'ssh-argv-2.txt'), FAKE_SSH_REFUSE: '1' });
    const [down] = await node.collect();
    expect(down).toMatchObject({ id: 'gpu/gpu-a', up: false, error_reason: 'refused' });
    expect(down!.error).toMatch(/status 255: ssh: connect to host gpu-a port 2222: Connection refused/);
  });
});

describe('potencia poll nvidia-smi:// (the built binary)', () => {
  it('prints every GPU of the node as a snapshot with --json', async () => {
    const r = await runCli(['poll', '--json', `nvidia-smi://${FAKE}`], { POTENCIA_FAKE_GPU_PROFILE: 'rtx4090', POTENCIA_FAKE_GPU_COUNT: '2' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const snapshots = JSON.parse(r.stdout) as DeviceSnapshot[];
    expect(snapshots.map((s) => [s.kind, s.up, s.model, s.power_source])).toEqual([
      ['gpu', true, 'NVIDIA GeForce RTX 4090', 'gpu_counter'],
      ['gpu', true, 'NVIDIA GeForce RTX 4090', 'gpu_counter'],
    ]);
    expect(snapshots[0]!.gpu).toMatchObject({ index: 0, memory_total_bytes: 24564 * 1048576, energy_j: 0 });
  });
});
