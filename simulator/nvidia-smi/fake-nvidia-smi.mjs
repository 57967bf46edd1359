#!/usr/bin/env node
// A stand-in for nvidia-smi on machines without NVIDIA GPUs: the demo's GPU nodes, the tests, benchmarks.
// It answers --help-query-gpu, --query-gpu=… --format=csv[,noheader][,nounits], -L and --version in the
// formats of the real captures (../../../shared/fixtures/nvidia), for one node of GPUs picked by env:
//
//   POTENCIA_FAKE_GPU_PROFILE  h100 (HGX H100 SXM, newer driver) | a100 (A100 SXM4, older driver: only
//                              clocks_throttle_reasons.* and power.draw) | rtx4090 (GeForce, newer driver)
//   POTENCIA_FAKE_GPU_COUNT    GPUs on the node (default: 8 for h100/a100, 4 for rtx4090)
//   POTENCIA_FAKE_GPU_NODE     node name; seeds the GPU UUIDs (default: the host name)
//   POTENCIA_FAKE_GPU_MIG      1: MIG mode on (whole-GPU utilization reads [N/A], as on real drivers)
//   POTENCIA_FAKE_GPU_TIME     ms since the epoch to compute readings at (default: now; readings vary with time)
//   POTENCIA_FAKE_GPU_FAULT    hang (the query never returns; a child holds the pipes) | garbage | nodriver |
//                              lost:N (GPU N fell off the bus)
//   POTENCIA_FAKE_GPU_LOG      file to append one JSON line per invocation to ({ argv, pid, child? })
//
// Plain JavaScript with no dependencies, so it runs as an executable without a build.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { hostname } from 'node:os';

const PROFILES = {
  h100: {
    name: 'NVIDIA H100 80GB HBM3',
    driver: '570.133.20',
    generation: 'new',
    defaultCount: 8,
    memoryMiB: 81559,
    reservedMiB: 479,
    limitW: 700,
    minLimitW: 200,
    idleW: 70,
    maxSmMHz: 1980,
    idleSmMHz: 345,
    memMHz: 2619,
    fan: false,
    hbm: true,
    ecc: true,
    datacenter: true,
    buses: ['18', '2A', '3A', '5D', '9A', 'AB', 'BA', 'DB'],
  },
  a100: {
    name: 'NVIDIA A100-SXM4-80GB',
    driver: '525.147.05',
    generation: 'old',
    defaultCount: 8,
    memoryMiB: 81920,
    reservedMiB: 0,
    limitW: 400,
    minLimitW: 100,
    idleW: 62,
    maxSmMHz: 1410,
    idleSmMHz: 210,
    memMHz: 1593,
    fan: false,
    hbm: true,
    ecc: true,
    datacenter: true,
    buses: ['07', '0F', '47', '4E', '87', '90', 'B7', 'BD'],
  },
  rtx4090: {
    name: 'NVIDIA GeForce RTX 4090',
    driver: '570.133.07',
    generation: 'new',
    defaultCount: 4,
    memoryMiB: 24564,
    reservedMiB: 332,
    limitW: 450,
    minLimitW: 150,
    idleW: 22,
    maxSmMHz: 2520,
    idleSmMHz: 210,
    memMHz: 10501,
    fan: true,
    hbm: false,
    ecc: false,
    datacenter: false,
    buses: ['01', '21', '41', '61', '81', 'A1', 'C1', 'E1'],
  },
};

const env = process.env;
const profileName = (env.POTENCIA_FAKE_GPU_PROFILE || 'h100').toLowerCase();
const profile = PROFILES[profileName];
if (!profile) fail(2, `fake nvidia-smi: unknown POTENCIA_FAKE_GPU_PROFILE "${profileName}" (known: ${Object.keys(PROFILES).join(', ')})`);
const count = Math.max(1, Math.min(16, Number(env.POTENCIA_FAKE_GPU_COUNT) || profile.defaultCount));
const node = env.POTENCIA_FAKE_GPU_NODE || hostname();
const mig = env.POTENCIA_FAKE_GPU_MIG === '1';
const nowMs = Number(env.POTENCIA_FAKE_GPU_TIME) || Date.now();
const fault = env.POTENCIA_FAKE_GPU_FAULT || '';
const args = process.argv.slice(2);

function log(extra = {}) {
  if (env.POTENCIA_FAKE_GPU_LOG) appendFileSync(env.POTENCIA_FAKE_GPU_LOG, `${JSON.stringify({ argv: args, pid: process.pid, ...extra })}\n`);
}

function fail(code, message) {
  process.stdout.write(`${message}\n`);
  process.exit(code);
}

// --- the fields this driver generation answers, with their help text and how to read them -------------

const REASONS = [
  ['gpu_idle', 0x1, 'Nothing is running on the GPU and the clocks are dropping to Idle state.'],
  ['applications_clocks_setting', 0x2, 'GPU clocks are limited by applications clocks setting.'],
  ['sw_power_cap', 0x4, 'SW Power Scaling algorithm is reducing the clocks below requested clocks because the GPU is consuming too much power.'],
  ['hw_slowdown', 0x8, 'HW Slowdown (reducing the core clocks by a factor of 2 or more) is engaged.'],
  ['hw_thermal_slowdown', 0x40, 'HW Thermal Slowdown (reducing the core clocks by a factor of 2 or more) is engaged.'],
  ['hw_power_brake_slowdown', 0x80, 'HW Power Brake Slowdown (reducing the core clocks by a factor of 2 or more) is engaged.'],
  ['sw_thermal_slowdown', 0x20, 'SW Thermal capping algorithm is reducing clocks below requested clocks because GPU temperature is higher than Max Operating Temp.'],
  ['sync_boost', 0x10, 'Sync Boost This GPU has been added to a Sync boost group with nvidia-smi or DCGM.'],
];
const NEW = profile.generation === 'new';
const hex = (n) => `0x${n.toString(16).toUpperCase().padStart(16, '0')}`;
const NA = '[N/A]';

/** [names, unit, description, value(gpu)] — names[0] is the name the help lists first. */
const FIELDS = [
  [['timestamp'], '', 'The timestamp of when the query was made in format "YYYY/MM/DD HH:MM:SS.msec".', () => timestamp()],
  [['driver_version'], '', 'The version of the installed NVIDIA display driver. This is an alphanumeric string.', () => profile.driver],
  [['count'], '', 'The number of NVIDIA GPUs in the system.', () => String(count)],
  [['name', 'gpu_name'], '', 'The official product name of the GPU. This is an alphanumeric string. For all products.', () => profile.name],
  [
    ['serial', 'gpu_serial'],
    '',
    'This number matches the serial number physically printed on each board. It is a globally unique immutable alphanumeric value.',
    (g) => (profile.datacenter ? g.serial : NA),
  ],
  [
    ['uuid', 'gpu_uuid'],
    '',
    'This value is the globally unique immutable alphanumeric identifier of the GPU. It does not correspond to any physical label on the board.',
    (g) => g.uuid,
  ],
  [['pci.bus_id', 'gpu_bus_id'], '', 'PCI bus id as "domain:bus:device.function", in hex.', (g) => g.busId],
  [['index'], '', 'Zero based index of the GPU. Can change at each boot.', (g) => String(g.index)],
  [
    ['persistence_mode'],
    '',
    'A flag that indicates whether persistence mode is enabled for the GPU. Value is either "Enabled" or "Disabled".',
    () => (profile.datacenter ? 'Enabled' : 'Disabled'),
  ],
  [
    ['fan.speed'],
    '%',
    "The fan speed value is the percent of the product's maximum noise tolerance fan speed that the device's fan is currently intended to run at.",
    (g) => (profile.fan ? String(Math.round(30 + g.load * 45)) : NA),
  ],
  [
    ['pstate'],
    '',
    'The current performance state for the GPU. States range from P0 (maximum performance) to P12 (minimum performance).',
    (g) => (profile.datacenter ? 'P0' : g.load > 0.05 ? 'P2' : 'P8'),
  ],
  ...[
    ['supported', 'Bitmask of supported clock event reasons. See nvml.h for more details.', () => hex(0x1ff)],
    ['active', 'Bitmask of active clock event reasons. See nvml.h for more details.', (g) => hex(g.reasons)],
    ...REASONS.map(([name, bit, text]) => [name, text, (g) => (g.reasons & bit ? 'Active' : 'Not Active')]),
  ].map(([suffix, text, value]) => [NEW ? [`clocks_event_reasons.${suffix}`, `clocks_throttle_reasons.${suffix}`] : [`clocks_throttle_reasons.${suffix}`], '', text, value]),
  [['memory.total'], 'MiB', 'Total installed GPU memory.', () => String(profile.memoryMiB)],
  ...(NEW ? [[['memory.reserved'], 'MiB', 'Total memory reserved by the NVIDIA driver and firmware.', () => String(profile.reservedMiB)]] : []),
  [['memory.used'], 'MiB', 'Total memory allocated by active contexts.', (g) => String(g.usedMiB)],
  [['memory.free'], 'MiB', 'Total free memory.', (g) => String(profile.memoryMiB - profile.reservedMiB - g.usedMiB)],
  [['compute_mode'], '', 'The compute mode flag indicates whether individual or multiple compute applications may run on the GPU.', () => 'Default'],
  [['utilization.gpu'], '%', 'Percent of time over the past sample period during which one or more kernels was executing on the GPU.', (g) => (mig ? NA : String(g.util))],
  [
    ['utilization.memory'],
    '%',
    'Percent of time over the past sample period during which global (device) memory was being read or written.',
    (g) => (mig ? NA : String(Math.round(g.util * 0.4))),
  ],
  [['ecc.mode.current'], '', 'The ECC mode that the GPU is currently operating under.', () => (profile.ecc ? 'Enabled' : NA)],
  [['ecc.errors.corrected.volatile.total'], '', 'Total errors detected across entire chip.', (g) => (profile.ecc ? String(g.eccCorrected % 7) : NA)],
  [['ecc.errors.corrected.aggregate.total'], '', 'Total errors detected across entire chip.', (g) => (profile.ecc ? String(g.eccCorrected) : NA)],
  [['ecc.errors.uncorrected.volatile.total'], '', 'Total errors detected across entire chip.', () => (profile.ecc ? '0' : NA)],
  [['ecc.errors.uncorrected.aggregate.total'], '', 'Total errors detected across entire chip.', () => (profile.ecc ? '0' : NA)],
  [['temperature.gpu'], '', ' Core GPU temperature. in degrees C.', (g) => String(g.tempC)],
  [['temperature.memory'], '', ' HBM memory temperature. in degrees C.', (g) => (profile.hbm ? String(g.tempC + 6) : 'N/A')],
  [['power.management'], '', 'A flag that indicates whether power management is enabled.', () => (NEW ? '[Requested functionality has been deprecated]' : 'Enabled')],
  [['power.draw'], 'W', 'The last measured power draw for the entire board, in watts. On Ampere or newer devices, returns average power draw over 1 sec.', (g) => watts(g.powerW)],
  ...(NEW
    ? [
        [['power.draw.average', 'gpu.power.draw.average'], 'W', 'The last measured average power draw for the entire board, in watts.', (g) => watts(g.powerW)],
        [
          ['power.draw.instant', 'gpu.power.draw.instant'],
          'W',
          'The last measured instant power draw for the entire board, in watts.',
          (g) => watts(g.powerW * (0.97 + 0.06 * frac(g.seed * 7 + nowMs / 997))),
        ],
      ]
    : []),
  [['power.limit'], 'W', 'The software power limit in watts.', () => watts(profile.limitW)],
  [['enforced.power.limit'], 'W', "The power management algorithm's power ceiling, in watts.", () => watts(profile.limitW)],
  [['power.default_limit'], 'W', "The default power management algorithm's power ceiling, in watts.", () => watts(profile.limitW)],
  [['power.min_limit'], 'W', 'The minimum value in watts that power limit can be set to.', () => watts(profile.minLimitW)],
  [['power.max_limit'], 'W', 'The maximum value in watts that power limit can be set to.', () => watts(profile.limitW)],
  [['clocks.current.graphics', 'clocks.gr'], 'MHz', 'Current frequency of graphics (shader) clock.', (g) => String(g.smMHz)],
  [['clocks.current.sm', 'clocks.sm'], 'MHz', 'Current frequency of SM (Streaming Multiprocessor) clock.', (g) => String(g.smMHz)],
  [['clocks.current.memory', 'clocks.mem'], 'MHz', 'Current frequency of memory clock.', () => String(profile.memMHz)],
  [['clocks.max.sm'], 'MHz', 'Maximum frequency of SM (Streaming Multiprocessor) clock.', () => String(profile.maxSmMHz)],
  [['clocks.max.memory', 'clocks.max.mem'], 'MHz', 'Maximum frequency of memory clock.', () => String(profile.memMHz)],
  [['mig.mode.current'], '', 'The MIG mode that the GPU is currently operating under.', () => (profile.datacenter ? (mig ? 'Enabled' : 'Disabled') : NA)],
  [['mig.mode.pending'], '', 'The MIG mode that the GPU will operate under after reset.', () => (profile.datacenter ? (mig ? 'Enabled' : 'Disabled') : NA)],
];
const BY_NAME = new Map();
for (const field of FIELDS) for (const name of field[0]) BY_NAME.set(name, field);

// --- readings: a slow load wave per GPU, so values change between polls -------------------------------

function frac(x) {
  return x - Math.floor(x);
}
function watts(w) {
  return w.toFixed(2);
}
function timestamp() {
  const d = new Date(nowMs);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
function digest(text) {
  return createHash('sha1').update(text).digest('hex');
}

function gpu(index) {
  const h = digest(`${node}/${profileName}/${index}`);
  const seed = parseInt(h.slice(0, 8), 16) / 2 ** 32;
  const uuid = `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  // The last GPU of a node idles, as one often does while a job is being scheduled.
  const wave = 0.5 + 0.5 * Math.sin(2 * Math.PI * (nowMs / 180_000 + seed));
  const load = index === count - 1 && count > 1 ? 0 : Math.min(1, 0.55 + 0.45 * wave);
  const util = Math.round(load * 100);
  const powerW = profile.idleW + load * (profile.limitW * 0.93 - profile.idleW);
  const smMHz = load > 0.05 ? profile.maxSmMHz - Math.round((1 - load) * 120) : profile.idleSmMHz;
  let reasons = load > 0.05 ? 0 : 0x1;
  if (!profile.datacenter && load > 0.97) reasons |= 0x4;
  return {
    index,
    uuid,
    seed,
    load,
    util,
    powerW,
    smMHz,
    reasons,
    serial: String(1650000000000 + parseInt(h.slice(8, 14), 16)).slice(0, 13),
    busId: `00000000:${profile.buses[index % profile.buses.length]}:00.0`,
    usedMiB: load > 0.05 ? Math.round(profile.memoryMiB * (0.25 + 0.6 * load)) : 0,
    tempC: Math.round(30 + load * 35 + seed * 4),
    eccCorrected: profile.ecc ? Math.floor(seed * 40) : 0,
  };
}

// --- commands ------------------------------------------------------------------------------------------

function helpQueryGpu() {
  let out = 'List of valid properties to query for the switch "--query-gpu":\n\n';
  for (const [names, , text] of FIELDS) out += `${names.map((n) => `"${n}"`).join(' or ')}\n${text}\n\n`;
  return out;
}

function queryGpu(list, format) {
  const opts = new Set(format.split(','));
  if (!opts.has('csv')) fail(2, `"${format}" is not a valid format. Please run 'nvidia-smi -h' for help.`);
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of names) if (!BY_NAME.has(name)) fail(2, `Field "${name}" is not a valid field to query.\n`);
  const fields = names.map((n) => BY_NAME.get(n));
  const units = !opts.has('nounits');
  let out = '';
  if (!opts.has('noheader')) out += `${names.map((n, i) => (fields[i][1] ? `${n} [${fields[i][1]}]` : n)).join(', ')}\n`;
  let lost;
  for (let i = 0; i < count; i++) {
    const g = gpu(i);
    if (fault === `lost:${i}`) {
      lost = g;
      continue;
    }
    out += `${fields
      .map(([, unit, , value]) => {
        const v = value(g);
        return units && unit && !v.startsWith('[') && v !== 'N/A' ? `${v} ${unit}` : v;
      })
      .join(', ')}\n`;
  }
  if (lost) {
    out = `Unable to determine the device handle for GPU ${lost.busId}: Unknown Error\n${out}`;
    process.stdout.write(out);
    process.exit(15);
  }
  return out;
}

function list() {
  let out = '';
  for (let i = 0; i < count; i++) out += `GPU ${i}: ${profile.name} (UUID: ${gpu(i).uuid})\n`;
  return out;
}

function main() {
  const query = args.find((a) => a.startsWith('--query-gpu='));
  const format = args.find((a) => a.startsWith('--format='));
  if (fault === 'nodriver')
    fail(9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n");
  if (args.includes('--help-query-gpu')) return process.stdout.write(helpQueryGpu());
  if (query) {
    if (!format) fail(2, "Missing --format. Please run 'nvidia-smi -h' for help.");
    if (fault === 'hang') {
      // A driver call that never returns; the child shows whether the caller kills the whole process group.
      const child = spawn('sleep', ['600'], { stdio: 'inherit' });
      log({ child: child.pid });
      setInterval(() => {}, 60_000);
      return;
    }
    if (fault === 'garbage') return process.stdout.write('\u0000\u0013<<binary junk>>\nSegmentation fault (core dumped)? no; just noise\n');
    return process.stdout.write(queryGpu(query.slice('--query-gpu='.length), format.slice('--format='.length)));
  }
  if (args.includes('-L') || args.includes('--list-gpus')) return process.stdout.write(list());
  if (args.includes('--version'))
    return process.stdout.write(`NVIDIA-SMI version  : ${profile.driver}\nDRIVER version      : ${profile.driver}\n(fake: potencia simulator, profile ${profileName})\n`);
  if (args.length === 0 || args.includes('-h') || args.includes('--help')) {
    return process.stdout.write(
      `NVIDIA System Management Interface -- v${profile.driver} (fake: potencia simulator, profile ${profileName}, ${count} GPUs)\n\nSupported: --help-query-gpu, --query-gpu=FIELDS --format=csv[,noheader][,nounits], -L, --version\n`,
    );
  }
  fail(2, "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.");
}

if (fault !== 'hang' || !args.some((a) => a.startsWith('--query-gpu='))) log();
main();
