import type { SnmpProfile } from '../../types.js';
import { defined, nonEmpty, scaled, sumOf } from '../util.js';

/**
 * ENTITY-SENSOR-MIB (RFC 3433): the standard sensor table that environment monitors, meters and
 * many network devices share. value × 10^(3 × (scale − 9)) × 10^−precision gives base units.
 */
const SENSOR = '1.3.6.1.2.1.99.1.1.1';

export const OID = {
  type: `${SENSOR}.1`, // entPhySensorType
  scale: `${SENSOR}.2`, // entPhySensorScale: 9 units, 8 milli, 10 kilo, …
  precision: `${SENSOR}.3`, // entPhySensorPrecision: decimal places
  value: `${SENSOR}.4`, // entPhySensorValue
  operStatus: `${SENSOR}.5`, // entPhySensorOperStatus: 1 ok
  name: '1.3.6.1.2.1.47.1.1.1.1.7', // entPhysicalName, same index
} as const;

/** EntitySensorDataType values read here. */
const TYPE = { watts: 6, celsius: 8, percentRH: 9, rpm: 10 } as const;

/** EntitySensorDataScale → power of ten. The MIB lists exa(14) before peta(15); both are far beyond any sensor. */
function scaleExponent(scale: number | undefined): number {
  return scale === undefined || scale < 1 || scale > 13 ? 0 : 3 * (scale - 9);
}

export const entitySensor: SnmpProfile = {
  name: 'entity-sensor',
  kind: 'sensor',
  sysObjectIds: [],
  walks: Object.values(OID),
  read(data) {
    const types = data.numberColumn(OID.type);
    const scales = data.numberColumn(OID.scale);
    const precisions = data.numberColumn(OID.precision);
    const status = data.numberColumn(OID.operStatus);
    const names = data.column(OID.name);
    const temperatures: Record<string, number> = {};
    const humidity: Record<string, number> = {};
    const watts: number[] = [];
    const fans: number[] = [];
    for (const [row, raw] of data.numberColumn(OID.value)) {
      if ((status.get(row) ?? 1) !== 1) continue;
      const value = scaled(raw, 10 ** (scaleExponent(scales.get(row)) - (precisions.get(row) ?? 0)))!;
      const name = String(names.get(row) ?? '').trim() || `sensor${row}`;
      switch (types.get(row)) {
        case TYPE.celsius:
          temperatures[name] = value;
          break;
        case TYPE.percentRH:
          humidity[name] = scaled(value, 0.01)!;
          break;
        case TYPE.watts:
          watts.push(value);
          break;
        case TYPE.rpm:
          fans.push(value);
          break;
      }
    }
    const power = sumOf(watts);
    return defined({
      power_w: power,
      power_source: power === undefined ? undefined : 'reported',
      temperatures_c: nonEmpty(temperatures),
      humidity_ratio: nonEmpty(humidity),
      fans_rpm: fans.length ? fans : undefined,
    });
  },
};
