import type { DeviceSnapshot } from '../../agent/snapshot.js';
import type { DeviceFamily } from './family.js';
import { formatValue } from './text-format.js';

/**
 * A family with one unlabelled series per device, present when `pick` finds a value. Its own module so
 * the family lists (device, GPU, SNMP) share it without importing each other.
 */
export function scalar(name: string, type: DeviceFamily['type'], help: string, pick: (s: DeviceSnapshot) => number | undefined): DeviceFamily {
  return {
    name,
    type,
    help,
    lines({ snapshot, labels }) {
      const value = pick(snapshot);
      return value === undefined ? '' : `${name}{${labels}} ${formatValue(value)}\n`;
    },
  };
}
