import type { HostSnapshot } from '../../../../agent/snapshot.js';
import type { SnmpProfile } from '../../types.js';
import { defined, scaled } from '../util.js';

/** HOST-RESOURCES-MIB (RFC 2790): processors, memory and disks of any server with an SNMP agent. */
const HR = '1.3.6.1.2.1.25';
const STORAGE = `${HR}.2.3.1`;

export const OID = {
  processorLoad: `${HR}.3.3.1.2`, // hrProcessorLoad: % busy over the last minute, per processor
  storageType: `${STORAGE}.2`,
  storageDescr: `${STORAGE}.3`,
  storageAllocationUnits: `${STORAGE}.4`, // bytes per unit
  storageSize: `${STORAGE}.5`, // units
  storageUsed: `${STORAGE}.6`, // units
} as const;

const STORAGE_RAM = `${HR}.2.1.2`;
const STORAGE_FIXED_DISK = `${HR}.2.1.4`;

export const hostResources: SnmpProfile = {
  name: 'host-resources',
  kind: 'host',
  sysObjectIds: ['1.3.6.1.4.1.8072', '1.3.6.1.4.1.311'],
  walks: Object.values(OID),
  read(data) {
    const loads = [...data.numberColumn(OID.processorLoad).values()];
    const host: HostSnapshot = {};
    if (loads.length) {
      host.cpus = loads.length;
      host.cpu_utilization_ratio = scaled(loads.reduce((a, b) => a + b, 0) / loads.length, 0.01)!;
    }
    const types = data.column(OID.storageType);
    const descrs = data.column(OID.storageDescr);
    const units = data.numberColumn(OID.storageAllocationUnits);
    const used = data.numberColumn(OID.storageUsed);
    const storage: NonNullable<HostSnapshot['storage']> = [];
    for (const [row, size] of data.numberColumn(OID.storageSize)) {
      const unit = units.get(row);
      const usedUnits = used.get(row);
      if (unit === undefined || usedUnits === undefined || size <= 0) continue;
      const type = String(types.get(row) ?? '').replace(/^\./, '');
      if (type === STORAGE_RAM) {
        host.memory_total_bytes = size * unit;
        host.memory_used_bytes = usedUnits * unit;
      } else if (type === STORAGE_FIXED_DISK) {
        storage.push({ name: String(descrs.get(row) ?? row), total_bytes: size * unit, used_bytes: usedUnits * unit });
      }
    }
    if (storage.length) host.storage = storage;
    return defined({ host: Object.keys(host).length ? host : undefined });
  },
};
