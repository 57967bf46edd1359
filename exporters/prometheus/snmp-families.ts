import type { DeviceSnapshot } from '../../agent/snapshot.js';
import type { DeviceFamily } from './family.js';
import { escapeLabelValue, formatValue } from './text-format.js';
import { scalar } from './scalar-family.js';

/** One series per element of a per-device list (outlets, phases, disks), labelled by `label`. */
function perItem<T>(
  name: string,
  type: DeviceFamily['type'],
  help: string,
  label: string,
  items: (s: DeviceSnapshot) => readonly T[] | undefined,
  key: (item: T) => string,
  pick: (item: T) => number | undefined,
): DeviceFamily {
  return {
    name,
    type,
    help,
    lines({ snapshot, labels }) {
      const list = items(snapshot);
      if (list === undefined) return '';
      let out = '';
      for (const item of list) {
        const value = pick(item);
        if (value !== undefined) out += `${name}{${labels},${label}="${escapeLabelValue(key(item))}"} ${formatValue(value)}\n`;
      }
      return out;
    },
  };
}

const outlets = (s: DeviceSnapshot) => s.outlets;
const phases = (s: DeviceSnapshot) => s.phases;
const byIndex = (item: { index: number }) => String(item.index);

/** PDU, sensor and host families read over SNMP, plus the firmware-versus-PDU power discrepancy. */
export const SNMP_FAMILIES: readonly DeviceFamily[] = [
  perItem(
    'potencia_pdu_outlet_power_watts',
    'gauge',
    "Active power drawn through a PDU outlet, in watts; outlet is the PDU's own outlet number.",
    'outlet',
    outlets,
    byIndex,
    (o) => o.power_w,
  ),
  perItem('potencia_pdu_outlet_current_amperes', 'gauge', 'RMS current through a PDU outlet, in amperes.', 'outlet', outlets, byIndex, (o) => o.current_a),
  perItem(
    'potencia_pdu_outlet_energy_joules_total',
    'counter',
    'Energy a PDU outlet has metered since its meter was last reset, in joules.',
    'outlet',
    outlets,
    byIndex,
    (o) => o.energy_j,
  ),
  perItem('potencia_pdu_outlet_on', 'gauge', '1 when a switched PDU outlet is on, 0 when it is off.', 'outlet', outlets, byIndex, (o) =>
    o.state === undefined ? undefined : o.state === 'on' ? 1 : 0,
  ),
  perItem('potencia_pdu_phase_current_amperes', 'gauge', 'RMS current on a PDU input phase, in amperes.', 'phase', phases, byIndex, (p) => p.current_a),
  perItem('potencia_pdu_phase_voltage_volts', 'gauge', 'RMS voltage on a PDU input phase, in volts.', 'phase', phases, byIndex, (p) => p.voltage_v),
  perItem('potencia_pdu_phase_power_watts', 'gauge', 'Active power on a PDU input phase, in watts.', 'phase', phases, byIndex, (p) => p.power_w),
  scalar('potencia_pdu_energy_joules_total', 'counter', 'Energy the PDU or meter has metered since its meter was last reset, in joules.', (s) => s.energy_j),
  {
    name: 'potencia_device_humidity_ratio',
    type: 'gauge',
    help: 'Relative humidity per sensor, as a ratio (0.45 = 45 %RH).',
    lines({ snapshot: s, labels }) {
      let out = '';
      for (const sensor in s.humidity_ratio) out += `potencia_device_humidity_ratio{${labels},sensor="${escapeLabelValue(sensor)}"} ${formatValue(s.humidity_ratio[sensor]!)}\n`;
      return out;
    },
  },
  scalar(
    'potencia_device_power_discrepancy_watts',
    'gauge',
    'Power the device reports minus what its PDU outlet measures, in watts; negative when the firmware under-reports.',
    (s) => {
      const reported = s.power_by_source_w?.reported;
      const pdu = s.power_by_source_w?.pdu;
      return reported === undefined || pdu === undefined ? undefined : Math.round((reported - pdu) * 1000) / 1000;
    },
  ),
  scalar(
    'potencia_host_cpu_utilization_ratio',
    'gauge',
    "Share of time the host's processors were busy over the agent's last minute, as a ratio.",
    (s) => s.host?.cpu_utilization_ratio,
  ),
  scalar('potencia_host_load1', 'gauge', "The host's 1-minute load average.", (s) => s.host?.load1),
  scalar('potencia_host_memory_total_bytes', 'gauge', 'Physical memory of the host, in bytes.', (s) => s.host?.memory_total_bytes),
  scalar(
    'potencia_host_memory_used_bytes',
    'gauge',
    'Physical memory in use on the host (buffers and cache excluded where the agent says), in bytes.',
    (s) => s.host?.memory_used_bytes,
  ),
  perItem(
    'potencia_host_storage_used_bytes',
    'gauge',
    'Space used on a fixed disk of the host, in bytes.',
    'storage',
    (s) => s.host?.storage,
    (d) => d.name,
    (d) => d.used_bytes,
  ),
  perItem(
    'potencia_host_storage_size_bytes',
    'gauge',
    'Size of a fixed disk of the host, in bytes.',
    'storage',
    (s) => s.host?.storage,
    (d) => d.name,
    (d) => d.total_bytes,
  ),
];
