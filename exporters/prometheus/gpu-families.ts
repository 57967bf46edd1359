import type { GpuSnapshot } from '../../agent/snapshot.js';
import type { DeviceFamily } from './family.js';
import { escapeLabelValue, formatValue } from './text-format.js';
import { scalar } from './scalar-family.js';

/**
 * GPU quantities beyond what every device has (up, info, power, temperature come from the device
 * families). One series per GPU, the device label being the GPU UUID.
 */

function gpuScalar(name: string, type: DeviceFamily['type'], help: string, pick: (g: GpuSnapshot) => number | undefined): DeviceFamily {
  return scalar(name, type, help, (s) => (s.gpu === undefined ? undefined : pick(s.gpu)));
}

/** One series per label value that the GPU reports, e.g. clock="sm" and clock="memory". */
function gpuLabelled(
  name: string,
  type: DeviceFamily['type'],
  help: string,
  label: string,
  picks: readonly (readonly [string, (g: GpuSnapshot) => number | undefined])[],
): DeviceFamily {
  return {
    name,
    type,
    help,
    lines({ snapshot, labels }) {
      const gpu = snapshot.gpu;
      if (gpu === undefined) return '';
      let out = '';
      for (const [value, pick] of picks) {
        const reading = pick(gpu);
        if (reading !== undefined) out += `${name}{${labels},${label}="${value}"} ${formatValue(reading)}\n`;
      }
      return out;
    },
  };
}

/** `P0` → 0 … `P12` → 12. */
function pstateNumber(pstate: string | undefined): number | undefined {
  const m = pstate === undefined ? null : /^P(\d{1,2})$/.exec(pstate);
  return m ? Number(m[1]) : undefined;
}

export const GPU_FAMILIES: readonly DeviceFamily[] = [
  gpuScalar(
    'potencia_gpu_utilization_ratio',
    'gauge',
    'Share of the last sample period (1/6 s to 1 s) in which a kernel ran on the GPU, 0 to 1; absent in MIG mode, where nvidia-smi reports no whole-GPU figure.',
    (g) => g.utilization_ratio,
  ),
  gpuScalar(
    'potencia_gpu_memory_utilization_ratio',
    'gauge',
    'Share of the last sample period in which device memory was read or written, 0 to 1.',
    (g) => g.memory_utilization_ratio,
  ),
  gpuScalar('potencia_gpu_memory_used_bytes', 'gauge', 'GPU memory allocated by running contexts, in bytes.', (g) => g.memory_used_bytes),
  gpuScalar('potencia_gpu_memory_total_bytes', 'gauge', 'GPU memory installed, in bytes.', (g) => g.memory_total_bytes),
  gpuScalar('potencia_gpu_power_limit_watts', 'gauge', 'Power limit the GPU enforces now (nvidia-smi enforced.power.limit, else power.limit), in watts.', (g) => g.power_limit_w),
  gpuLabelled('potencia_gpu_clock_hertz', 'gauge', 'Current GPU clock frequency in hertz: clock="sm" (streaming multiprocessors) or clock="memory".', 'clock', [
    ['sm', (g) => g.sm_clock_hz],
    ['memory', (g) => g.memory_clock_hz],
  ]),
  gpuScalar(
    'potencia_gpu_fan_speed_ratio',
    'gauge',
    'Fan speed the GPU asks for as a share of its maximum, 0 to 1 (nvidia-smi reports a percentage, never RPM); absent on passively cooled boards.',
    (g) => g.fan_speed_ratio,
  ),
  gpuScalar('potencia_gpu_pstate', 'gauge', 'Performance state: 0 is P0 (maximum performance) up to 12 (P12, minimum).', (g) => pstateNumber(g.pstate)),
  gpuScalar(
    'potencia_gpu_energy_joules_total',
    'counter',
    "Energy the GPU used, in joules: the driver's own counter (total_energy_consumption) where nvidia-smi offers it, else the agent's trapezoid integral of the power readings between polls (it starts at 0 when the agent starts and does not count gaps longer than three intervals).",
    (g) => g.energy_j,
  ),
  {
    name: 'potencia_gpu_throttle_reason',
    type: 'gauge',
    help: 'Present with value 1 for each clock event ("throttle") reason active now: gpu_idle, applications_clocks_setting, sw_power_cap, hw_slowdown, sync_boost, sw_thermal_slowdown, hw_thermal_slowdown, hw_power_brake_slowdown, display_clock_setting, other; absent when not active.',
    lines({ snapshot, labels }) {
      const reasons = snapshot.gpu?.throttle_reasons;
      if (reasons === undefined) return '';
      let out = '';
      for (const reason of reasons) out += `potencia_gpu_throttle_reason{${labels},reason="${escapeLabelValue(reason)}"} 1\n`;
      return out;
    },
  },
  gpuLabelled(
    'potencia_gpu_ecc_errors_total',
    'counter',
    'ECC errors over the GPU\'s lifetime (nvidia-smi ecc.errors.*.aggregate.total, kept across reboots), by type="corrected" or "uncorrected"; absent where ECC is off or unsupported.',
    'type',
    [
      ['corrected', (g) => g.ecc_errors_corrected],
      ['uncorrected', (g) => g.ecc_errors_uncorrected],
    ],
  ),
];
