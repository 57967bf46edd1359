import type { OutletSnapshot, PhaseSnapshot } from '../../../agent/snapshot.js';
import type { SnmpProfile } from '../types.js';
import { byIndex, defined, lastIndex, nonEmpty, scaled, sumOf } from './util.js';

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
    const outlets = new Map<string, OutletSnapshot>();
    const outlet = (row: string) => {
      let o = outlets.get(row);
      if (!o) outlets.set(row, (o = { index: Number(row) }));
      return o;
    };
    for (const [row, v] of data.column(OID.outletLabel)) if (String(v) !== '') outlet(row).name = String(v);
    for (const [row, v] of data.numberColumn(OID.outletState)) if (v === 0 || v === 1) outlet(row).state = v === 1 ? 'on' : 'off';
    for (const [row, v] of data.numberColumn(OID.outletCurrent)) outlet(row).current_a = scaled(v, 0.001);
    for (const [row, v] of data.numberColumn(OID.outletVoltage)) outlet(row).voltage_v = scaled(v, 0.001);
    for (const [row, v] of data.numberColumn(OID.outletActivePower)) outlet(row).power_w = v;

    const phases = new Map<string, PhaseSnapshot>();
    const labels = data.column(OID.poleLabel);
    const phase = (row: string) => {
      let p = phases.get(row);
      if (!p) {
        p = { index: lastIndex(row) };
        const label = labels.get(row);
        if (label !== undefined && String(label) !== '') p.name = String(label);
        phases.set(row, p);
      }
      return p;
    };
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
      outlets: outlets.size ? byIndex(outlets.values()) : undefined,
      phases: phases.size ? byIndex(phases.values()) : undefined,
      temperatures_c: nonEmpty(temperatures),
      humidity_ratio: nonEmpty(humidity),
    });
  },
};
