import { POWER_SOURCE_PRECEDENCE, hashAlgorithmOf, type BoardSnapshot, type BoardStatus } from '../../agent/snapshot.js';
import { escapeLabelValue, formatValue } from './text-format.js';
import { scalar } from './scalar-family.js';
import { GPU_FAMILIES } from './gpu-families.js';
import { SNMP_FAMILIES } from './snmp-families.js';
import { ECONOMICS_FAMILIES } from './economics-families.js';
import type { DeviceFamily } from './family.js';

const BOARD_STATUS_SET: Record<BoardStatus, true> = { ok: true, degraded: true, dead: true };
const BOARD_STATUSES = Object.keys(BOARD_STATUS_SET) as BoardStatus[];

function perBoard(name: string, help: string, pick: (b: BoardSnapshot) => number | undefined): DeviceFamily {
  return {
    name,
    type: 'gauge',
    help,
    part: 'board',
    lines({ snapshot, labels }) {
      const boards = snapshot.boards;
      if (boards === undefined) return '';
      let out = '';
      for (const board of boards) {
        const value = pick(board);
        if (value !== undefined) out += `${name}{${labels},board="${board.index}"} ${formatValue(value)}\n`;
      }
      return out;
    },
  };
}

/**
 * Hashrates arrive as GH/s or TH/s scaled to H/s, so they carry float noise in the 17th digit (140e12 →
 * 140000000000000.02). A fraction of a hash per second means nothing, and an integer renders far faster.
 */
function wholeHashes(hs: number | undefined): number | undefined {
  return hs === undefined || !Number.isFinite(hs) ? hs : Math.round(hs);
}

const SHARE_RESULTS = [
  ['accepted', 'accepted_shares'],
  ['rejected', 'rejected_shares'],
  ['stale', 'stale_shares'],
] as const;

/** Temperature sensor names that belong to one hashboard (`board2_chip`, `board2_pcb`, `board2`), as the dialects name them. */
const BOARD_SENSOR = /^board\d+(?:_|$)/;

const TEMPERATURE_FAMILY = 'potencia_device_temperature_celsius';

function temperatureFamily(boardSensors: boolean): DeviceFamily {
  return {
    name: TEMPERATURE_FAMILY,
    type: 'gauge',
    help: 'Temperature per sensor, in degrees Celsius; sensor names are stable per firmware dialect (inlet, outlet, chip_max, …).',
    lines({ snapshot: s, labels }) {
      let out = '';
      for (const sensor in s.temperatures_c) {
        if (!boardSensors && BOARD_SENSOR.test(sensor)) continue;
        out += `potencia_device_temperature_celsius{${labels},sensor="${escapeLabelValue(sensor)}"} ${formatValue(s.temperatures_c[sensor]!)}\n`;
      }
      return out;
    },
  };
}

/** Which parts' series a device puts on the page (config `metrics:`). */
export interface SeriesParts {
  readonly per_board: boolean;
  readonly per_fan: boolean;
}

/** DEVICE_FAMILIES less the per-part series the operator left out. */
export function deviceFamilies(parts: SeriesParts): readonly DeviceFamily[] {
  if (parts.per_board && parts.per_fan) return DEVICE_FAMILIES;
  return DEVICE_FAMILIES.filter((family) => (family.part !== 'board' || parts.per_board) && (family.part !== 'fan' || parts.per_fan)).map((family) =>
    family.name === TEMPERATURE_FAMILY && !parts.per_board ? temperatureFamily(false) : family,
  );
}

export const DEVICE_FAMILIES: readonly DeviceFamily[] = [
  scalar('potencia_device_up', 'gauge', '1 when the device answered its last poll, 0 when it did not.', (s) => (s.up ? 1 : 0)),
  {
    name: 'potencia_device_info',
    type: 'gauge',
    help: 'Identity of the device; always 1. Join on the device label to add kind, vendor, model, algorithm, firmware, dialect or address to other series; sum hashrate across devices over algorithm="sha256" only.',
    lines({ snapshot: s, labels }) {
      return `potencia_device_info{${labels},kind="${s.kind}",vendor="${escapeLabelValue(s.vendor ?? '')}",model="${escapeLabelValue(s.model ?? '')}",algorithm="${hashAlgorithmOf(s) ?? ''}",firmware="${escapeLabelValue(s.firmware ?? '')}",dialect="${escapeLabelValue(s.dialect ?? '')}",address="${escapeLabelValue(s.address ?? '')}"} 1\n`;
    },
  },
  {
    name: 'potencia_device_last_seen_timestamp_seconds',
    type: 'gauge',
    help: "Unix time of the device's latest reading, answered or not.",
    lines: ({ labels, observedAtMs }) => `potencia_device_last_seen_timestamp_seconds{${labels}} ${formatValue(observedAtMs / 1000)}\n`,
  },
  scalar('potencia_miner_hashrate_hashes_per_second', 'gauge', 'Current hashrate reported by the miner, in hashes per second.', (s) => wholeHashes(s.hashrate_hs)),
  scalar('potencia_miner_nominal_hashrate_hashes_per_second', 'gauge', 'Hashrate the miner is rated or configured for, in hashes per second.', (s) =>
    wholeHashes(s.nominal_hashrate_hs),
  ),
  {
    name: 'potencia_device_power_watts',
    type: 'gauge',
    help: 'Power drawn by a consuming device (miner, GPU, host), in watts, from the most trusted source available (pdu > reported > gpu_counter > nameplate > estimated); the source label says which. PDUs and meters are in potencia_pdu_power_watts / potencia_meter_power_watts, so a sum of this family counts every watt once.',
    lines({ snapshot: s, labels }) {
      if (s.power_w === undefined || s.kind === 'pdu' || s.kind === 'sensor') return '';
      return `potencia_device_power_watts{${labels},source="${s.power_source ?? 'unknown'}"} ${formatValue(s.power_w)}\n`;
    },
  },
  {
    name: 'potencia_pdu_power_watts',
    type: 'gauge',
    help: "Power a PDU meters in total, in watts: the load of the devices behind it (already in potencia_device_power_watts where mapped), not a consumer's draw.",
    lines({ snapshot: s, labels }) {
      if (s.power_w === undefined || s.kind !== 'pdu') return '';
      return `potencia_pdu_power_watts{${labels}} ${formatValue(s.power_w)}\n`;
    },
  },
  {
    name: 'potencia_meter_power_watts',
    type: 'gauge',
    help: "Power a meter or sensor reads, in watts: a measurement of other devices' load, not a consumer's draw.",
    lines({ snapshot: s, labels }) {
      if (s.power_w === undefined || s.kind !== 'sensor') return '';
      return `potencia_meter_power_watts{${labels}} ${formatValue(s.power_w)}\n`;
    },
  },
  {
    name: 'potencia_device_power_by_source_watts',
    type: 'gauge',
    help: 'Every power figure seen for the device, in watts, one series per source, present when more than one source reports; compares firmware readings against the PDU.',
    lines({ snapshot: s, labels }) {
      const bySource = s.power_by_source_w;
      if (bySource === undefined) return '';
      let out = '';
      let count = 0;
      for (const source of POWER_SOURCE_PRECEDENCE) {
        const watts = bySource[source];
        if (watts === undefined) continue;
        count++;
        out += `potencia_device_power_by_source_watts{${labels},source="${source}"} ${formatValue(watts)}\n`;
      }
      return count > 1 ? out : '';
    },
  },
  scalar('potencia_device_power_limit_watts', 'gauge', 'Power limit configured on the device, in watts.', (s) => s.power_limit_w),
  scalar(
    'potencia_device_efficiency_joules_per_terahash',
    'gauge',
    'Energy per unit of work in joules per terahash (J/TH), the unit the mining industry quotes efficiency in; lower is better.',
    (s) => s.efficiency_j_per_th,
  ),
  temperatureFamily(true),
  {
    name: 'potencia_device_fan_speed_rpm',
    type: 'gauge',
    part: 'fan',
    help: "Fan speed in revolutions per minute, one series per fan in the device's fan order.",
    lines({ snapshot: s, labels }) {
      const fans = s.fans_rpm;
      let out = '';
      for (let i = 0; i < fans.length; i++) out += `potencia_device_fan_speed_rpm{${labels},fan="${i}"} ${formatValue(fans[i]!)}\n`;
      return out;
    },
  },
  perBoard('potencia_miner_board_hashrate_hashes_per_second', 'Hashrate per hashboard, in hashes per second.', (b) => wholeHashes(b.hashrate_hs)),
  perBoard('potencia_miner_board_chips', 'ASIC chips the hashboard reports as working.', (b) => b.chips),
  perBoard('potencia_miner_board_chips_expected', 'ASIC chips the hashboard should have.', (b) => b.chips_expected),
  {
    name: 'potencia_miner_board_temperature_celsius',
    type: 'gauge',
    part: 'board',
    help: 'Hashboard temperature in degrees Celsius: sensor="chip" is the hottest chip, sensor="pcb" the board sensor.',
    lines({ snapshot: s, labels }) {
      if (s.boards === undefined) return '';
      let out = '';
      for (const b of s.boards) {
        if (b.chip_temperature_c !== undefined) {
          out += `potencia_miner_board_temperature_celsius{${labels},board="${b.index}",sensor="chip"} ${formatValue(b.chip_temperature_c)}\n`;
        }
        if (b.board_temperature_c !== undefined) {
          out += `potencia_miner_board_temperature_celsius{${labels},board="${b.index}",sensor="pcb"} ${formatValue(b.board_temperature_c)}\n`;
        }
      }
      return out;
    },
  },
  {
    name: 'potencia_miner_board_status',
    type: 'gauge',
    part: 'board',
    help: 'Hashboard state as a state set: one series per status (ok, degraded, dead), 1 for the current one.',
    lines({ snapshot: s, labels }) {
      if (s.boards === undefined) return '';
      let out = '';
      for (const b of s.boards) {
        for (const status of BOARD_STATUSES) {
          out += `potencia_miner_board_status{${labels},board="${b.index}",status="${status}"} ${b.status === status ? 1 : 0}\n`;
        }
      }
      return out;
    },
  },
  {
    name: 'potencia_miner_shares_total',
    type: 'counter',
    help: 'Shares the miner submitted since it started, by pool verdict (accepted, rejected, stale).',
    lines({ snapshot: s, labels }) {
      let out = '';
      for (const [result, key] of SHARE_RESULTS) {
        const count = s[key];
        if (count !== undefined) out += `potencia_miner_shares_total{${labels},result="${result}"} ${formatValue(count)}\n`;
      }
      return out;
    },
  },
  scalar('potencia_miner_hardware_errors_total', 'counter', 'Hardware errors (bad nonces) the miner counted since it started.', (s) => s.hardware_errors),
  scalar('potencia_device_uptime_seconds', 'gauge', 'Seconds since the device (or its mining process) started, as it reports.', (s) => s.uptime_s),
  {
    name: 'potencia_device_error',
    type: 'gauge',
    help: 'Present with value 1 while the device is down or partly unreadable, reason being a bounded code (timeout, refused, malformed, …); the full message is in /api/devices.',
    lines({ snapshot: s, labels }) {
      const reason = s.error_reason ?? (s.error !== undefined ? 'other' : undefined);
      return reason === undefined ? '' : `potencia_device_error{${labels},reason="${reason}"} 1\n`;
    },
  },
  ...GPU_FAMILIES,
  ...SNMP_FAMILIES,
  ...ECONOMICS_FAMILIES,
];
