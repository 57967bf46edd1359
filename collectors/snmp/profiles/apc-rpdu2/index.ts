import type { OutletSnapshot, PhaseSnapshot } from '../../../../agent/snapshot.js';
import { JOULES_PER_WH, type SnmpProfile } from '../../types.js';
import { defined, firstText, RowTable, scaled, sumOf } from '../util.js';

/**
 * APC / Schneider Rack PDU, second generation (PowerNet-MIB rPDU2 branch, AP8xxx and current AP7xxx
 * firmware). Rows are indexed by SNMP index; on a single PDU that is the outlet number, on a
 * Network-Port-Sharing chain guests continue the count (host 1-24, first guest 25-48, …).
 */
const RPDU2 = '1.3.6.1.4.1.318.1.1.26';
const IDENT = `${RPDU2}.2.1.1`;
const DEVICE = `${RPDU2}.4.3.1`;
const PHASE = `${RPDU2}.6.3.1`;
const METERED = `${RPDU2}.9.4.3.1`;
const SWITCHED = `${RPDU2}.9.2.3.1`;

export const OID = {
  identFirmware: `${IDENT}.6`, // rPDU2IdentFirmwareRevision
  identModel: `${IDENT}.8`, // rPDU2IdentModelNumber
  identSerial: `${IDENT}.9`, // rPDU2IdentSerialNumber
  devicePower: `${DEVICE}.5`, // rPDU2DeviceStatusPower: hundredths of kW
  deviceEnergy: `${DEVICE}.9`, // rPDU2DeviceStatusEnergy: tenths of kWh
  phaseNumber: `${PHASE}.3`, // rPDU2PhaseStatusNumber
  phaseCurrent: `${PHASE}.5`, // rPDU2PhaseStatusCurrent: tenths of A
  phaseVoltage: `${PHASE}.6`, // rPDU2PhaseStatusVoltage: V
  phasePower: `${PHASE}.7`, // rPDU2PhaseStatusPower: hundredths of kW
  outletName: `${METERED}.3`, // rPDU2OutletMeteredStatusName
  outletCurrent: `${METERED}.6`, // rPDU2OutletMeteredStatusCurrent: tenths of A
  outletPower: `${METERED}.7`, // rPDU2OutletMeteredStatusPower: W
  outletEnergy: `${METERED}.11`, // rPDU2OutletMeteredStatusEnergy: tenths of kWh
  outletState: `${SWITCHED}.5`, // rPDU2OutletSwitchedStatusState: 1 off, 2 on
} as const;

const TENTH_KWH_J = 100 * JOULES_PER_WH;

export const apcRpdu2: SnmpProfile = {
  name: 'apc-rpdu2',
  kind: 'pdu',
  sysObjectIds: ['1.3.6.1.4.1.318', '1.3.6.1.4.1.318.1.3.4.5'],
  walks: Object.values(OID),
  read(data) {
    const numbers = data.numberColumn(OID.phaseNumber);
    const phaseRows = new RowTable<PhaseSnapshot>((row) => ({ index: numbers.get(row) ?? Number(row) }));
    const phase = (row: string) => phaseRows.row(row);
    for (const [row, v] of data.numberColumn(OID.phaseCurrent)) phase(row).current_a = scaled(v, 0.1);
    for (const [row, v] of data.numberColumn(OID.phaseVoltage)) phase(row).voltage_v = v;
    for (const [row, v] of data.numberColumn(OID.phasePower)) phase(row).power_w = scaled(v, 10);

    const outletRows = new RowTable<OutletSnapshot>((row) => ({ index: Number(row) }));
    const outlet = (row: string) => outletRows.row(row);
    for (const [row, v] of data.column(OID.outletName)) if (String(v) !== '') outlet(row).name = String(v);
    for (const [row, v] of data.numberColumn(OID.outletState)) if (v === 1 || v === 2) outlet(row).state = v === 2 ? 'on' : 'off';
    for (const [row, v] of data.numberColumn(OID.outletCurrent)) outlet(row).current_a = scaled(v, 0.1);
    for (const [row, v] of data.numberColumn(OID.outletPower)) outlet(row).power_w = v;
    for (const [row, v] of data.numberColumn(OID.outletEnergy)) outlet(row).energy_j = scaled(v, TENTH_KWH_J);

    const power = sumOf([...data.numberColumn(OID.devicePower).values()].map((v) => v * 10));
    const energy = sumOf([...data.numberColumn(OID.deviceEnergy).values()].map((v) => v * TENTH_KWH_J));
    return defined({
      vendor: 'APC',
      model: firstText(data.column(OID.identModel)),
      serial: firstText(data.column(OID.identSerial)),
      firmware: firstText(data.column(OID.identFirmware)),
      power_w: power,
      power_source: power === undefined ? undefined : 'pdu',
      energy_j: energy,
      phases: phaseRows.list(),
      outlets: outletRows.list(),
    });
  },
};
