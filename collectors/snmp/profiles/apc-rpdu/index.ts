import type { OutletSnapshot, PhaseSnapshot } from '../../../../agent/snapshot.js';
import type { SnmpProfile } from '../../types.js';
import { byIndex, defined, RowTable, scaled } from '../util.js';

/** APC Rack PDU, first generation (PowerNet-MIB rPDU branch: AP7xxx on older firmware). */
const RPDU = '1.3.6.1.4.1.318.1.1.12';
const LOAD = `${RPDU}.2.3.1.1`;
const OUTLET = `${RPDU}.3.5.1.1`;

export const OID = {
  firmware: `${RPDU}.1.3.0`, // rPDUIdentFirmwareRev
  model: `${RPDU}.1.5.0`, // rPDUIdentModelNumber
  serial: `${RPDU}.1.6.0`, // rPDUIdentSerialNumber
  devicePower: `${RPDU}.1.16.0`, // rPDUIdentDevicePowerWatts: W
  loadCurrent: `${LOAD}.2`, // rPDULoadStatusLoad: tenths of A
  loadPhase: `${LOAD}.4`, // rPDULoadStatusPhaseNumber
  loadBank: `${LOAD}.5`, // rPDULoadStatusBankNumber: 0 for a phase row
  outletName: `${OUTLET}.2`, // rPDUOutletStatusOutletName
  outletState: `${OUTLET}.4`, // rPDUOutletStatusOutletState: 1 on, 2 off
  outletCurrent: `${OUTLET}.7`, // rPDUOutletStatusLoad: tenths of A (metered-by-outlet models)
} as const;

export const apcRpdu: SnmpProfile = {
  name: 'apc-rpdu',
  kind: 'pdu',
  sysObjectIds: ['1.3.6.1.4.1.318.1.3.4.4'],
  gets: [OID.firmware, OID.model, OID.serial, OID.devicePower],
  walks: [OID.loadCurrent, OID.loadPhase, OID.loadBank, OID.outletName, OID.outletState, OID.outletCurrent],
  read(data) {
    const phases: PhaseSnapshot[] = [];
    const phaseOf = data.numberColumn(OID.loadPhase);
    const bankOf = data.numberColumn(OID.loadBank);
    for (const [row, v] of data.numberColumn(OID.loadCurrent)) {
      // Bank rows repeat part of a phase's load; only phase rows (bank 0) sum to the PDU's input.
      if ((bankOf.get(row) ?? 0) !== 0) continue;
      phases.push({ index: phaseOf.get(row) ?? Number(row), current_a: scaled(v, 0.1)! });
    }
    const outletRows = new RowTable<OutletSnapshot>((row) => ({ index: Number(row) }));
    const outlet = (row: string) => outletRows.row(row);
    for (const [row, v] of data.column(OID.outletName)) if (String(v) !== '') outlet(row).name = String(v);
    for (const [row, v] of data.numberColumn(OID.outletState)) if (v === 1 || v === 2) outlet(row).state = v === 1 ? 'on' : 'off';
    for (const [row, v] of data.numberColumn(OID.outletCurrent)) outlet(row).current_a = scaled(v, 0.1);
    const power = data.number(OID.devicePower);
    return defined({
      vendor: 'APC',
      model: data.string(OID.model)?.trim() || undefined,
      serial: data.string(OID.serial)?.trim() || undefined,
      firmware: data.string(OID.firmware)?.trim() || undefined,
      power_w: power,
      power_source: power === undefined ? undefined : 'pdu',
      phases: phases.length ? byIndex(phases) : undefined,
      outlets: outletRows.list(),
    });
  },
};
