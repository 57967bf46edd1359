import type { OutletSnapshot, PhaseSnapshot } from '../../../../agent/snapshot.js';
import { JOULES_PER_WH, type SnmpProfile } from '../../types.js';
import { defined, labelled, lastIndex, nonEmpty, RowTable, scaled, sumOf } from '../util.js';

/**
 * ServerTech Sentry 4th generation (Sentry4-MIB, enterprise 1718.4). Rows are indexed
 * unit.cord[.line|phase|outlet]; a negative reading means "no sensor there".
 */
const ST4 = '1.3.6.1.4.1.1718.4.1';

export const OID = {
  cordName: `${ST4}.3.2.1.3`, // st4InputCordName
  cordActivePower: `${ST4}.3.3.1.3`, // st4InputCordActivePower: W
  cordEnergy: `${ST4}.3.3.1.10`, // st4InputCordEnergy: tenths of kWh
  phaseLabel: `${ST4}.5.2.1.4`, // st4PhaseLabel
  phaseVoltage: `${ST4}.5.3.1.3`, // st4PhaseVoltage: tenths of V
  phaseCurrent: `${ST4}.5.3.1.6`, // st4PhaseCurrent: hundredths of A
  phaseActivePower: `${ST4}.5.3.1.8`, // st4PhaseActivePower: W
  outletName: `${ST4}.8.2.1.3`, // st4OutletName
  outletState: `${ST4}.8.3.1.1`, // st4OutletState: 0 off, 1 on
  outletCurrent: `${ST4}.8.3.1.3`, // st4OutletCurrent: hundredths of A
  outletActivePower: `${ST4}.8.3.1.7`, // st4OutletActivePower: W
  tempName: `${ST4}.9.2.1.3`, // st4TempSensorName
  tempValue: `${ST4}.9.3.1.1`, // st4TempSensorValue: tenths of a degree (Celsius unless the unit is set to Fahrenheit)
  humidName: `${ST4}.10.2.1.3`, // st4HumidSensorName
  humidValue: `${ST4}.10.3.1.1`, // st4HumidSensorValue: %RH
} as const;

export const servertechSentry4: SnmpProfile = {
  name: 'servertech-sentry4',
  kind: 'pdu',
  sysObjectIds: ['1.3.6.1.4.1.1718.4'],
  walks: Object.values(OID),
  read(data, system) {
    const phaseLabels = data.column(OID.phaseLabel);
    let phaseNumber = 0;
    // Phases of every cord in walk order: 1, 2, 3 on a single three-phase cord.
    const phaseRows = new RowTable<PhaseSnapshot>((row) => labelled<PhaseSnapshot>({ index: ++phaseNumber }, phaseLabels.get(row)));
    const phase = (row: string) => phaseRows.row(row);
    for (const [row, v] of data.numberColumn(OID.phaseVoltage)) if (v >= 0) phase(row).voltage_v = scaled(v, 0.1);
    for (const [row, v] of data.numberColumn(OID.phaseCurrent)) if (v >= 0) phase(row).current_a = scaled(v, 0.01);
    for (const [row, v] of data.numberColumn(OID.phaseActivePower)) if (v >= 0) phase(row).power_w = v;

    const outletRows = new RowTable<OutletSnapshot>((row) => ({ index: lastIndex(row) }));
    const outlet = (row: string) => outletRows.row(row);
    for (const [row, v] of data.column(OID.outletName)) if (String(v) !== '') outlet(row).name = String(v);
    for (const [row, v] of data.numberColumn(OID.outletState)) if (v === 0 || v === 1) outlet(row).state = v === 1 ? 'on' : 'off';
    for (const [row, v] of data.numberColumn(OID.outletCurrent)) if (v >= 0) outlet(row).current_a = scaled(v, 0.01);
    for (const [row, v] of data.numberColumn(OID.outletActivePower)) if (v >= 0) outlet(row).power_w = v;

    const temperatures: Record<string, number> = {};
    const tempNames = data.column(OID.tempName);
    for (const [row, v] of data.numberColumn(OID.tempValue)) if (v > -410) temperatures[String(tempNames.get(row) ?? `temp${row}`)] = scaled(v, 0.1)!;
    const humidity: Record<string, number> = {};
    const humidNames = data.column(OID.humidName);
    for (const [row, v] of data.numberColumn(OID.humidValue)) if (v >= 0) humidity[String(humidNames.get(row) ?? `humid${row}`)] = scaled(v, 0.01)!;

    const power = sumOf([...data.numberColumn(OID.cordActivePower).values()].filter((v) => v >= 0));
    const energy = sumOf([...data.numberColumn(OID.cordEnergy).values()].filter((v) => v >= 0).map((v) => v * 100 * JOULES_PER_WH));
    return defined({
      vendor: 'ServerTech',
      model: system.descr?.trim() || undefined,
      power_w: power,
      power_source: power === undefined ? undefined : 'pdu',
      energy_j: energy,
      phases: phaseRows.list(),
      outlets: outletRows.list(),
      temperatures_c: nonEmpty(temperatures),
      humidity_ratio: nonEmpty(humidity),
    });
  },
};
