import type { OutletSnapshot, PhaseSnapshot } from '../../../../agent/snapshot.js';
import type { SnmpProfile } from '../../types.js';
import { defined, labelled, lastIndex, nonEmpty, RowTable, scaled, sumOf } from '../util.js';

/** Raritan Dominion PX, first generation (PDU-MIB, enterprise 13742.4): milliamps, millivolts, watts. */
const PX = '1.3.6.1.4.1.13742.4';
const OUTLET = `${PX}.1.2.2.1`;
const INLET = `${PX}.1.20.2.1`;
const POLE = `${PX}.1.21.2.1`;
const SENSOR = `${PX}.3.3.1`;

export const OID = {
  outletLabel: `${OUTLET}.2`,
  outletState: `${OUTLET}.3`, // outletOperationalState: 0 off, 1 on
  outletCurrent: `${OUTLET}.4`, // mA
  outletVoltage: `${OUTLET}.6`, // mV
  outletActivePower: `${OUTLET}.7`, // W
  inletCurrent: `${INLET}.7`, // mA
  inletVoltage: `${INLET}.8`, // mV
  inletActivePower: `${INLET}.9`, // W
  poleLabel: `${POLE}.2`,
  poleCurrent: `${POLE}.3`, // mA
  poleVoltage: `${POLE}.4`, // mV
  sensorType: `${SENSOR}.2`, // 10 temperature, 11 humidity
  sensorName: `${SENSOR}.4`,
  sensorDecimalDigits: `${SENSOR}.17`,
  sensorValue: `${SENSOR}.41`,
} as const;

const TEMPERATURE = 10;
const HUMIDITY = 11;

export const raritanPx: SnmpProfile = {
  name: 'raritan-px',
  kind: 'pdu',
  sysObjectIds: ['1.3.6.1.4.1.13742.4'],
  walks: Object.values(OID),
  read(data, system) {
    const outletRows = new RowTable<OutletSnapshot>((row) => ({ index: Number(row) }));
    const outlet = (row: string) => outletRows.row(row);
    for (const [row, v] of data.column(OID.outletLabel)) if (String(v) !== '') outlet(row).name = String(v);
    for (const [row, v] of data.numberColumn(OID.outletState)) if (v === 0 || v === 1) outlet(row).state = v === 1 ? 'on' : 'off';
    for (const [row, v] of data.numberColumn(OID.outletCurrent)) outlet(row).current_a = scaled(v, 0.001);
    for (const [row, v] of data.numberColumn(OID.outletVoltage)) outlet(row).voltage_v = scaled(v, 0.001);
    for (const [row, v] of data.numberColumn(OID.outletActivePower)) outlet(row).power_w = v;

    const labels = data.column(OID.poleLabel);
    const phaseRows = new RowTable<PhaseSnapshot>((row) => labelled<PhaseSnapshot>({ index: lastIndex(row) }, labels.get(row)));
    const phase = (row: string) => phaseRows.row(row);
    for (const [row, v] of data.numberColumn(OID.poleCurrent)) phase(row).current_a = scaled(v, 0.001);
    for (const [row, v] of data.numberColumn(OID.poleVoltage)) phase(row).voltage_v = scaled(v, 0.001);

    const temperatures: Record<string, number> = {};
    const humidity: Record<string, number> = {};
    const types = data.numberColumn(OID.sensorType);
    const names = data.column(OID.sensorName);
    const digits = data.numberColumn(OID.sensorDecimalDigits);
    for (const [row, raw] of data.numberColumn(OID.sensorValue)) {
      const value = scaled(raw, 10 ** -(digits.get(row) ?? 0))!;
      const name = String(names.get(row) ?? `sensor${row}`);
      if (types.get(row) === TEMPERATURE) temperatures[name] = value;
      else if (types.get(row) === HUMIDITY) humidity[name] = scaled(value, 0.01)!;
    }

    const power = sumOf(data.numberColumn(OID.inletActivePower).values());
    return defined({
      vendor: 'Raritan',
      model: 'Dominion PX',
      firmware: /Firmware Version (\S+)/.exec(system.descr ?? '')?.[1],
      power_w: power,
      power_source: power === undefined ? undefined : 'pdu',
      outlets: outletRows.list(),
      phases: phaseRows.list(),
      temperatures_c: nonEmpty(temperatures),
      humidity_ratio: nonEmpty(humidity),
    });
  },
};
