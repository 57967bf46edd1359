import { describe, expect, it } from 'vitest';
import {
  commandLine,
  decodeClockEventReasons,
  EnergyMeter,
  isAbsent,
  nvidiaNodeOf,
  parseHelpQueryGpu,
  parseHex,
  parseNumber,
  parseQueryOutput,
  planQuery,
  readGpuRow,
  shellQuote,
  sshFailureReason,
} from '../collectors/nvidia/index.js';
import { canonicalUrl, parseTargetUrl } from '../collectors/target.js';
import { TargetError, type Target } from '../collectors/contract.js';
import { buildTargets, targetsFromUrls } from '../agent/targets.js';
import { configSchema } from '../config/schema.js';
import { Scheduler } from '../agent/scheduler.js';

const OLD_HELP = `List of valid properties to query for the switch "--query-gpu":

"index"
Zero based index of the GPU. Can change at each boot.

"uuid" or "gpu_uuid"
This value is the globally unique immutable alphanumeric identifier of the GPU.

"name" or "gpu_name"
The official product name of the GPU.

"clocks_throttle_reasons.active"
Bitmask of active clock throttle reasons. See nvml.h for more details.

"power.draw"
The last measured power draw for the entire board, in watts. "Quoted" words inside a description are not fields.

"power.limit"
The software power limit in watts.

"clocks.current.sm" or "clocks.sm"
Current frequency of SM (Streaming Multiprocessor) clock.
`;

const NEW_NAMES = [
  'index',
  'uuid',
  'gpu_uuid',
  'name',
  'power.draw',
  'power.draw.average',
  'power.draw.instant',
  'enforced.power.limit',
  'power.limit',
  'clocks_event_reasons.active',
  'clocks_throttle_reasons.active',
  'memory.used',
  'memory.total',
  'utilization.gpu',
  'fan.speed',
  'ecc.errors.corrected.aggregate.total',
  'ecc.errors.corrected.volatile.total',
  'mig.mode.current',
  'pstate',
  'clocks.current.sm',
  'clocks.sm',
];

const target: Target = { url: 'nvidia-smi:', scheme: 'nvidia-smi', host: 'localhost', port: 0, labels: { rack: 'g1' }, intervalMs: 30_000, timeoutMs: 5000 };
const observedAt = new Date('2026-03-01T12:00:00Z');

describe('nvidia-smi cells', () => {
  it('treats every bracketed text, N/A and an empty cell as no reading', () => {
    for (const cell of ['[N/A]', 'N/A', '[Not Supported]', '[Unknown Error]', '[Requested functionality has been deprecated]', '', '  ']) {
      expect(isAbsent(cell)).toBe(true);
      expect(parseNumber(cell)).toBeUndefined();
    }
    expect(isAbsent('0')).toBe(false);
  });

  it('reads numbers with or without their unit (csv vs nounits)', () => {
    expect(parseNumber('69.85')).toBe(69.85);
    expect(parseNumber('69.85 W')).toBe(69.85);
    expect(parseNumber('81559 MiB')).toBe(81559);
    expect(parseNumber('38 %')).toBe(38);
    expect(parseNumber('0')).toBe(0);
    expect(parseNumber('Enabled')).toBeUndefined();
    expect(parseNumber('12abc34')).toBeUndefined();
  });

  it('decodes the clock event bitmask into NVML reason names, unknown bits as other', () => {
    expect(parseHex('0x0000000000000001')).toBe(1n);
    expect(parseHex('[N/A]')).toBeUndefined();
    expect(decodeClockEventReasons(0n)).toEqual([]);
    expect(decodeClockEventReasons(0x1n)).toEqual(['gpu_idle']);
    expect(decodeClockEventReasons(0x44n)).toEqual(['sw_power_cap', 'hw_thermal_slowdown']);
    expect(decodeClockEventReasons(0x1000n | 0x80n)).toEqual(['hw_power_brake_slowdown', 'other']);
  });
});

describe('--help-query-gpu and the query plan', () => {
  it('lists every field name including aliases, and nothing from descriptions', () => {
    const names = parseHelpQueryGpu(OLD_HELP);
    expect([...names].sort()).toEqual(
      ['clocks.current.sm', 'clocks.sm', 'clocks_throttle_reasons.active', 'gpu_name', 'gpu_uuid', 'index', 'name', 'power.draw', 'power.limit', 'uuid'].sort(),
    );
  });

  it('asks an older driver for clocks_throttle_reasons and power.draw only', () => {
    const plan = planQuery(parseHelpQueryGpu(OLD_HELP));
    expect(plan.fields).toEqual(['index', 'uuid', 'name', 'power.draw', 'power.limit', 'clocks.current.sm', 'clocks_throttle_reasons.active']);
    expect(plan.fields.join(',')).not.toContain('clocks_event_reasons');
  });

  it('asks a newer driver for clocks_event_reasons and every power reading, the average first', () => {
    const plan = planQuery(new Set(NEW_NAMES));
    expect(plan.fields).toContain('clocks_event_reasons.active');
    expect(plan.fields).not.toContain('clocks_throttle_reasons.active');
    expect(plan.columns.power_draw_w!.map((c) => plan.fields[c])).toEqual(['power.draw.average', 'power.draw', 'power.draw.instant']);
    expect(plan.columns.power_limit_w!.map((c) => plan.fields[c])).toEqual(['enforced.power.limit', 'power.limit']);
    // Aliases are asked for once.
    expect(plan.fields.filter((f) => f === 'uuid' || f === 'gpu_uuid')).toEqual(['uuid']);
    expect(plan.fields).toContain('ecc.errors.corrected.aggregate.total');
    expect(plan.fields).not.toContain('ecc.errors.corrected.volatile.total');
  });
});

describe('--query-gpu rows', () => {
  const plan = planQuery(
    new Set([
      ...NEW_NAMES,
      'driver_version',
      'pci.bus_id',
      'temperature.gpu',
      'temperature.memory',
      'clocks.current.memory',
      'utilization.memory',
      'ecc.errors.uncorrected.aggregate.total',
      'total_energy_consumption',
    ]),
  );
  const row = (values: Record<string, string>) => plan.fields.map((f) => values[f] ?? '[N/A]').join(', ');

  it('keeps rows of the asked width and reports other lines as problems', () => {
    const text = `${row({ index: '0', uuid: 'GPU-a' })}\nUnable to determine the device handle for GPU 0000:3B:00.0: Unknown Error\n\n${row({ index: '2', uuid: 'GPU-c' })}\n`;
    const out = parseQueryOutput(text, plan.fields);
    expect(out.rows.map((r) => r[plan.fields.indexOf('uuid')])).toEqual(['GPU-a', 'GPU-c']);
    expect(out.problems).toEqual(['Unable to determine the device handle for GPU 0000:3B:00.0: Unknown Error']);
  });

  it('skips a header line when the format has one', () => {
    const header = plan.fields.map((f) => (f === 'memory.used' ? 'memory.used [MiB]' : f)).join(', ');
    const out = parseQueryOutput(`${header}\n${row({ index: '0', uuid: 'GPU-a' })}\n`, plan.fields);
    expect(out.rows).toHaveLength(1);
    expect(out.problems).toEqual([]);
  });

  it('converts to base units and ratios, and leaves out what the GPU could not report', () => {
    const cells = parseQueryOutput(
      row({
        index: '3',
        uuid: 'GPU-1d2c',
        name: 'NVIDIA H100 80GB HBM3',
        driver_version: '570.133.20',
        'pci.bus_id': '00000000:5D:00.0',
        'utilization.gpu': '87',
        'utilization.memory': '[Unknown Error]',
        'memory.used': '40960',
        'memory.total': '81559',
        'temperature.gpu': '61',
        'temperature.memory': 'N/A',
        'power.draw.average': '[N/A]',
        'power.draw': '612.40',
        'power.draw.instant': '640.00',
        'enforced.power.limit': '[Not Supported]',
        'power.limit': '700.00',
        'clocks.current.sm': '1980',
        'clocks.current.memory': '2619',
        pstate: 'P0',
        'clocks_event_reasons.active': '0x0000000000000004',
        'fan.speed': '[N/A]',
        'mig.mode.current': 'Disabled',
        'ecc.errors.corrected.aggregate.total': '12',
        'ecc.errors.uncorrected.aggregate.total': '0',
      }),
      plan.fields,
    ).rows[0]!;
    const s = readGpuRow(cells, plan, { target, observedAt });
    expect(s).toMatchObject({
      id: 'gpu/localhost/GPU-1d2c',
      kind: 'gpu',
      target: 'nvidia-smi:',
      address: 'localhost',
      labels: { rack: 'g1' },
      vendor: 'NVIDIA',
      model: 'NVIDIA H100 80GB HBM3',
      firmware: '570.133.20',
      dialect: 'nvidia-smi',
      up: true,
      observed_at: '2026-03-01T12:00:00.000Z',
      power_w: 612.4,
      power_source: 'gpu_counter',
      power_by_source_w: { gpu_counter: 612.4 },
      temperatures_c: { gpu: 61 },
      fans_rpm: [],
    });
    expect(s.gpu).toEqual({
      index: 3,
      uuid: 'GPU-1d2c',
      name: 'NVIDIA H100 80GB HBM3',
      pci_bus_id: '00000000:5D:00.0',
      driver_version: '570.133.20',
      utilization_ratio: 0.87,
      memory_used_bytes: 40960 * 1048576,
      memory_total_bytes: 81559 * 1048576,
      power_limit_w: 700,
      sm_clock_hz: 1.98e9,
      memory_clock_hz: 2.619e9,
      pstate: 'P0',
      throttle_reasons: ['sw_power_cap'],
      ecc_errors_corrected: 12,
      ecc_errors_uncorrected: 0,
      mig_enabled: false,
    });
    expect(s.gpu).not.toHaveProperty('fan_speed_ratio');
    expect(s.gpu).not.toHaveProperty('memory_utilization_ratio');
  });

  it('takes the driver energy counter (mJ) when there is one, and a fan percentage as a ratio', () => {
    const cells = parseQueryOutput(
      row({ index: '0', uuid: 'GPU-e', total_energy_consumption: '123456789', 'fan.speed': '38', 'mig.mode.current': 'Enabled', 'utilization.gpu': '[N/A]' }),
      plan.fields,
    ).rows[0]!;
    const s = readGpuRow(cells, plan, { target, observedAt });
    expect(s.gpu).toMatchObject({ energy_j: 123456.789, fan_speed_ratio: 0.38, mig_enabled: true });
    expect(s.gpu).not.toHaveProperty('utilization_ratio');
    expect(s).not.toHaveProperty('power_w');
  });
});

describe('EnergyMeter', () => {
  it('integrates power with the trapezoid rule per GPU', () => {
    const meter = new EnergyMeter(60_000);
    expect(meter.record('a', 100, 0)).toBe(0);
    expect(meter.record('a', 300, 10_000)).toBe(2000); // (100+300)/2 W × 10 s
    expect(meter.record('b', 50, 10_000)).toBe(0);
    expect(meter.record('a', 300, 40_000)).toBe(11_000);
  });

  it('holds the counter across a gap longer than the limit and after an unreadable poll', () => {
    const meter = new EnergyMeter(60_000);
    meter.record('a', 200, 0);
    expect(meter.record('a', 200, 30_000)).toBe(6000);
    expect(meter.record('a', 200, 200_000)).toBe(6000);
    expect(meter.record('a', undefined, 210_000)).toBe(6000);
    expect(meter.record('a', 200, 220_000)).toBe(6000);
    meter.interrupt('a');
    expect(meter.record('a', 200, 230_000)).toBe(6000);
    expect(meter.record('a', 200, 240_000)).toBe(8000);
    expect(meter.record('never-powered', undefined, 0)).toBeUndefined();
  });
});

describe('nvidia-smi target URLs', () => {
  it('parses the local, named-binary, node and ssh forms', () => {
    expect(parseTargetUrl('nvidia-smi:')).toEqual({ scheme: 'nvidia-smi', hosts: ['localhost'], port: 0 });
    expect(parseTargetUrl('nvidia-smi:///opt/nvidia/bin/nvidia-smi')).toEqual({ scheme: 'nvidia-smi', hosts: ['localhost'], port: 0, path: '/opt/nvidia/bin/nvidia-smi' });
    expect(parseTargetUrl('nvidia-smi://gpu-node-1')).toEqual({ scheme: 'nvidia-smi', hosts: ['gpu-node-1'], port: 0 });
    expect(parseTargetUrl('nvidia-smi+ssh://ops@10.0.5.11:2222/usr/bin/nvidia-smi')).toEqual({
      scheme: 'nvidia-smi+ssh',
      hosts: ['10.0.5.11'],
      port: 2222,
      userinfo: 'ops',
      path: '/usr/bin/nvidia-smi',
    });
    expect(parseTargetUrl('nvidia-smi+ssh://gpu-a')).toEqual({ scheme: 'nvidia-smi+ssh', hosts: ['gpu-a'], port: 0 });
  });

  it('rejects ranges, parameters, a port or user on local targets, and ssh without a host', () => {
    for (const [url, message] of [
      ['nvidia-smi+ssh://10.0.5.10-20', /one node each/],
      ['nvidia-smi:///x/fake?profile=h100', /take no parameters/],
      ['nvidia-smi://root@gpu-a', /takes no user or port/],
      ['nvidia-smi://gpu-a:22', /takes no user or port/],
      ['nvidia-smi+ssh://', /has no host/],
      ['nvidia-smi+ssh://bad host', /not a URL like|not a host name/],
    ] as const) {
      expect(() => parseTargetUrl(url), url).toThrow(TargetError);
      expect(() => parseTargetUrl(url), url).toThrow(message);
    }
  });

  it('keeps cgminer URLs as they were', () => {
    expect(parseTargetUrl('cgminer://10.0.1.10-12')).toEqual({ scheme: 'cgminer', hosts: ['10.0.1.10', '10.0.1.11', '10.0.1.12'], port: 4028 });
    expect(canonicalUrl('cgminer', '10.0.1.10', 4028)).toBe('cgminer://10.0.1.10:4028');
  });

  it('gives each form a canonical URL, never with the ssh user', () => {
    expect(
      targetsFromUrls(['nvidia-smi:', 'nvidia-smi:///opt/x/nvidia-smi', 'nvidia-smi+ssh://ops@gpu-a', 'nvidia-smi+ssh://gpu-b:2222/usr/bin/nvidia-smi'], 5000).map((t) => t.url),
    ).toEqual(['nvidia-smi:', 'nvidia-smi:///opt/x/nvidia-smi', 'nvidia-smi+ssh://gpu-a', 'nvidia-smi+ssh://gpu-b:2222/usr/bin/nvidia-smi']);
  });

  it('carries command_prefix and ssh_options from config onto the targets', () => {
    const config = configSchema.parse({
      targets: [
        { url: 'nvidia-smi://gpu-node-1', command_prefix: ['kubectl', 'exec', 'gpu-node-1', '--'] },
        { url: 'nvidia-smi+ssh://ops@10.0.5.11', ssh_options: ['-i', '/etc/potencia/id_ed25519'] },
      ],
    });
    const [k8s, ssh] = buildTargets(config);
    expect(k8s).toMatchObject({ url: 'nvidia-smi://gpu-node-1', host: 'gpu-node-1', commandPrefix: ['kubectl', 'exec', 'gpu-node-1', '--'] });
    expect(ssh).toMatchObject({ url: 'nvidia-smi+ssh://10.0.5.11', host: '10.0.5.11', userinfo: 'ops', sshOptions: ['-i', '/etc/potencia/id_ed25519'] });
  });

  it('gets a new collector on reload when only its command_prefix or ssh_options changed', () => {
    const created: Target[] = [];
    const scheduler = new Scheduler({
      concurrency: 1,
      jitterRatio: 0,
      backoffMaxMs: 1000,
      onResult: () => {},
      createCollector: (t) => {
        created.push(t);
        return { target: t, collect: async () => [], placeholder: () => ({ id: 'gpu/test', kind: 'gpu', target: t.url, labels: t.labels }) };
      },
    });
    const k8s = { ...target, url: 'nvidia-smi://gpu-node-1', host: 'gpu-node-1', commandPrefix: ['kubectl', 'exec', 'gpu-node-1', '--'] };
    scheduler.setTargets([k8s]);
    scheduler.setTargets([{ ...k8s, labels: { ...k8s.labels } }]);
    expect(created).toHaveLength(1);
    scheduler.setTargets([{ ...k8s, commandPrefix: ['kubectl', 'exec', '-n', 'gpu', 'gpu-node-1', '--'] }]);
    expect(created.map((t) => t.commandPrefix![2])).toEqual(['gpu-node-1', '-n']);
  });

  it('rejects options that do not fit the URL, at their path', () => {
    const result = configSchema.safeParse({
      targets: [
        { url: 'nvidia-smi://gpu-node-1' },
        { url: 'cgminer://10.0.1.1', command_prefix: ['sudo'] },
        { url: 'nvidia-smi:', ssh_options: ['-v'] },
        { url: 'nvidia-smi:', command_prefix: [] },
      ],
    });
    expect(result.success).toBe(false);
    const issues = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^targets\.0\.command_prefix: nvidia-smi:\/\/gpu-node-1 names another node/),
        'targets.1.command_prefix: only nvidia-smi:// and nvidia-smi+ssh:// targets run a command',
        'targets.2.ssh_options: only nvidia-smi+ssh:// targets use ssh',
        expect.stringMatching(/^targets\.3\.command_prefix: /),
      ]),
    );
  });
});

describe('command lines', () => {
  const args = ['--query-gpu=index,uuid', '--format=csv,noheader,nounits'];

  it('runs the binary locally, after the prefix', () => {
    expect(commandLine(nvidiaNodeOf(target), args, 5000)).toEqual(['nvidia-smi', ...args]);
    const viaKubectl = nvidiaNodeOf({ ...target, url: 'nvidia-smi://gpu-node-1', host: 'gpu-node-1', commandPrefix: ['kubectl', 'exec', 'gpu-node-1', '--'] });
    expect(commandLine(viaKubectl, args, 5000)).toEqual(['kubectl', 'exec', 'gpu-node-1', '--', 'nvidia-smi', ...args]);
  });

  it('reaches an ssh node with BatchMode, a connect timeout inside the poll timeout, and shell-safe words', () => {
    const node = nvidiaNodeOf({
      ...target,
      url: 'nvidia-smi+ssh://gpu-a:2222/opt/my nvidia/nvidia-smi',
      scheme: 'nvidia-smi+ssh',
      host: 'gpu-a',
      port: 2222,
      userinfo: 'ops',
      path: '/opt/my nvidia/nvidia-smi',
      sshOptions: ['-i', '/k'],
      commandPrefix: ['sudo', '-n'],
    });
    expect(commandLine(node, args, 6000)).toEqual([
      'ssh',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=3',
      '-p',
      '2222',
      '-i',
      '/k',
      'ops@gpu-a',
      '--',
      'sudo',
      '-n',
      "'/opt/my nvidia/nvidia-smi'",
      ...args,
    ]);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('tells ssh network failures from other ssh failures', () => {
    expect(sshFailureReason('ssh: connect to host 10.0.5.11 port 22: Connection timed out')).toBe('timeout');
    expect(sshFailureReason('ssh: connect to host 10.0.5.11 port 22: Connection refused')).toBe('refused');
    expect(sshFailureReason('ssh: Could not resolve hostname gpu-x: Name or service not known')).toBe('unreachable');
    expect(sshFailureReason('ops@10.0.5.11: Permission denied (publickey).')).toBe('exec');
  });
});
