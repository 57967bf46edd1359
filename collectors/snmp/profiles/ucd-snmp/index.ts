import type { SnmpProfile } from '../../types.js';
import { defined, nonEmpty, scaled } from '../util.js';

/** UCD-SNMP-MIB and LM-SENSORS-MIB as net-snmp's snmpd serves them on Linux (enterprise 2021). */
const UCD = '1.3.6.1.4.1.2021';

export const OID = {
  memTotalReal: `${UCD}.4.5.0`, // kB
  memAvailReal: `${UCD}.4.6.0`, // kB free
  memBuffer: `${UCD}.4.14.0`, // kB
  memCached: `${UCD}.4.15.0`, // kB
  ssCpuIdle: `${UCD}.11.11.0`, // % over the last minute
  laLoadInt: `${UCD}.10.1.5`, // load average × 100; row 1 is the 1-minute one
  lmTempDevice: `${UCD}.13.16.2.1.2`,
  lmTempValue: `${UCD}.13.16.2.1.3`, // m°C
  lmFanValue: `${UCD}.13.16.3.1.3`, // RPM
} as const;

export const ucdSnmp: SnmpProfile = {
  name: 'ucd-snmp',
  kind: 'host',
  sysObjectIds: ['1.3.6.1.4.1.8072'],
  gets: [OID.memTotalReal, OID.memAvailReal, OID.memBuffer, OID.memCached, OID.ssCpuIdle],
  walks: [OID.laLoadInt, OID.lmTempDevice, OID.lmTempValue, OID.lmFanValue],
  read(data) {
    const temperatures: Record<string, number> = {};
    const devices = data.column(OID.lmTempDevice);
    for (const [row, v] of data.numberColumn(OID.lmTempValue)) temperatures[String(devices.get(row) ?? `temp${row}`)] = scaled(v, 0.001)!;
    const fans = [...data.numberColumn(OID.lmFanValue).values()];
    const totalKb = data.number(OID.memTotalReal);
    const freeKb = data.number(OID.memAvailReal);
    // Buffers and page cache are reclaimable: "used" is what programs hold, as free(1) counts it.
    const usedKb = totalKb !== undefined && freeKb !== undefined ? totalKb - freeKb - (data.number(OID.memBuffer) ?? 0) - (data.number(OID.memCached) ?? 0) : undefined;
    const idle = data.number(OID.ssCpuIdle);
    const load = data.numberColumn(OID.laLoadInt).get('1');
    const host = defined({
      cpu_utilization_ratio: idle === undefined ? undefined : scaled(100 - idle, 0.01),
      load1: scaled(load, 0.01),
      memory_total_bytes: scaled(totalKb, 1024),
      memory_used_bytes: usedKb === undefined ? undefined : Math.max(0, usedKb) * 1024,
    });
    return defined({
      host: Object.keys(host).length ? host : undefined,
      temperatures_c: nonEmpty(temperatures),
      fans_rpm: fans.length ? fans : undefined,
    });
  },
};
