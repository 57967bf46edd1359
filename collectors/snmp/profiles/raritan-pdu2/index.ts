import type { OutletSnapshot } from '../../../../agent/snapshot.js';
import { JOULES_PER_WH, type SnmpData, type SnmpProfile } from '../../types.js';
import { defined, lastIndex, nonEmpty, RowTable, scaled, sumOf } from '../util.js';

/**
 * Raritan PX2 / PX3 (PDU2-MIB, enterprise 13742.6). Every reading is a sensor row indexed
 * `pdu.<outlet|inlet>.sensorType` whose integer value is scaled by that sensor's decimal digits.
 */
const PDU2 = '1.3.6.1.4.1.13742.6';

export const OID = {
  outletName: `${PDU2}.3.5.3.1.3`, // outletName (user-set; empty when unset)
  outletLabel: `${PDU2}.3.5.3.1.2`, // outletLabel ("1", "2", …)
  outletDecimalDigits: `${PDU2}.3.5.4.1.7`, // outletSensorDecimalDigits.pdu.outlet.type
  outletValue: `${PDU2}.5.4.3.1.4`, // measurementsOutletSensorValue.pdu.outlet.type
  inletDecimalDigits: `${PDU2}.3.3.4.1.7`, // inletSensorDecimalDigits.pdu.inlet.type
  inletValue: `${PDU2}.5.2.3.1.4`, // measurementsInletSensorValue.pdu.inlet.type
  externalType: `${PDU2}.3.6.3.1.2`, // externalSensorType.pdu.sensor: 10 temperature, 11 humidity
  externalName: `${PDU2}.3.6.3.1.4`, // externalSensorName
  externalDecimalDigits: `${PDU2}.3.6.3.1.17`, // externalSensorDecimalDigits
  externalValue: `${PDU2}.5.5.3.1.4`, // measurementsExternalSensorValue.pdu.sensor
} as const;

/** PDU2-MIB SensorTypeEnumeration values read here. */
const SENSOR = { rmsCurrent: 1, rmsVoltage: 4, activePower: 5, activeEnergy: 8, temperature: 10, humidity: 11 } as const;

export const raritanPdu2: SnmpProfile = {
  name: 'raritan-pdu2',
  kind: 'pdu',
  sysObjectIds: ['1.3.6.1.4.1.13742.6'],
  walks: Object.values(OID),
  read(data) {
    const outletRows = new RowTable<OutletSnapshot>((row) => ({ index: lastIndex(row) }));
    const outlet = (row: string) => outletRows.row(row);
    for (const [row, v] of data.column(OID.outletName)) if (String(v) !== '') outlet(row).name = String(v);
    for (const { row, type, value } of sensorRows(data, OID.outletValue, OID.outletDecimalDigits)) {
      if (type === SENSOR.rmsCurrent) outlet(row).current_a = value;
      else if (type === SENSOR.rmsVoltage) outlet(row).voltage_v = value;
      else if (type === SENSOR.activePower) outlet(row).power_w = value;
      else if (type === SENSOR.activeEnergy) outlet(row).energy_j = scaled(value, JOULES_PER_WH);
    }
    const inletPower: number[] = [];
    const inletEnergy: number[] = [];
    for (const { type, value } of sensorRows(data, OID.inletValue, OID.inletDecimalDigits)) {
      if (type === SENSOR.activePower) inletPower.push(value);
      else if (type === SENSOR.activeEnergy) inletEnergy.push(value * JOULES_PER_WH);
    }
    const temperatures: Record<string, number> = {};
    const humidity: Record<string, number> = {};
    const types = data.numberColumn(OID.externalType);
    const names = data.column(OID.externalName);
    const digits = data.numberColumn(OID.externalDecimalDigits);
    for (const [row, raw] of data.numberColumn(OID.externalValue)) {
      const value = scaled(raw, 10 ** -(digits.get(row) ?? 0))!;
      const name = String(names.get(row) ?? `sensor${lastIndex(row)}`);
      if (types.get(row) === SENSOR.temperature) temperatures[name] = value;
      else if (types.get(row) === SENSOR.humidity) humidity[name] = scaled(value, 0.01)!;
    }
    const power = sumOf(inletPower);
    return defined({
      vendor: 'Raritan',
      power_w: power,
      power_source: power === undefined ? undefined : 'pdu',
      energy_j: sumOf(inletEnergy),
      outlets: outletRows.list(),
      temperatures_c: nonEmpty(temperatures),
      humidity_ratio: nonEmpty(humidity),
    });
  },
};

/** Rows of a `…Value.pdu.X.type` column as (`pdu.X`, type, scaled value). */
function* sensorRows(data: SnmpData, valueColumn: string, digitsColumn: string): Generator<{ row: string; type: number; value: number }> {
  const digits = data.numberColumn(digitsColumn);
  for (const [index, raw] of data.numberColumn(valueColumn)) {
    const cut = index.lastIndexOf('.');
    if (cut < 0) continue;
    yield { row: index.slice(0, cut), type: Number(index.slice(cut + 1)), value: scaled(raw, 10 ** -(digits.get(index) ?? 0))! };
  }
}
