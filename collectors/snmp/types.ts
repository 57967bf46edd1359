import type { DeviceKind, DeviceSnapshot } from '../../agent/snapshot.js';

/** A decoded SNMP value: integers and counters as numbers (Counter64 too, exact below 2^53), strings and OIDs as strings. */
export type SnmpValue = number | string;

export interface SnmpVarbind {
  oid: string;
  value: SnmpValue;
}

/**
 * What a collector needs from SNMP. Small on purpose: the net-snmp implementation is one, a test can
 * wrap it to see which OIDs were asked for.
 */
export interface SnmpTransport {
  /** Scalars; an OID the agent does not have is left out of the result, not an error. */
  get(oids: readonly string[]): Promise<SnmpVarbind[]>;
  /** Every varbind under `oid` (GETBULK on v2c/v3, GETNEXT on v1). */
  walk(oid: string): Promise<SnmpVarbind[]>;
  close(): void;
}

/** Every value read from one device in one poll, by OID without a leading dot. */
export class SnmpData {
  readonly #values = new Map<string, SnmpValue>();

  add(varbinds: readonly SnmpVarbind[]): void {
    for (const { oid, value } of varbinds) this.#values.set(oid.replace(/^\./, ''), value);
  }

  get size(): number {
    return this.#values.size;
  }

  value(oid: string): SnmpValue | undefined {
    return this.#values.get(oid);
  }

  number(oid: string): number | undefined {
    return toNumber(this.#values.get(oid));
  }

  string(oid: string): string | undefined {
    const v = this.#values.get(oid);
    return v === undefined ? undefined : String(v);
  }

  /** A table column as row index (the OID suffix after `column.`) → value, in walk order. */
  column(column: string): Map<string, SnmpValue> {
    const prefix = `${column}.`;
    const rows = new Map<string, SnmpValue>();
    for (const [oid, value] of this.#values) if (oid.startsWith(prefix)) rows.set(oid.slice(prefix.length), value);
    return rows;
  }

  numberColumn(column: string): Map<string, number> {
    const rows = new Map<string, number>();
    for (const [index, value] of this.column(column)) {
      const n = toNumber(value);
      if (n !== undefined) rows.set(index, n);
    }
    return rows;
  }
}

export function toNumber(value: SnmpValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const n = Number(value.trim());
  return value.trim() !== '' && Number.isFinite(n) ? n : undefined;
}

/** The system group every SNMP agent answers, read before any profile. */
export interface SystemInfo {
  descr?: string;
  objectId?: string;
  name?: string;
  uptimeS?: number;
}

/** The fields of a DeviceSnapshot a profile may fill in. */
export type ProfileReading = Partial<
  Pick<
    DeviceSnapshot,
    'vendor' | 'model' | 'firmware' | 'serial' | 'power_w' | 'power_source' | 'outlets' | 'phases' | 'energy_j' | 'humidity_ratio' | 'host' | 'temperatures_c' | 'fans_rpm'
  >
>;

/**
 * How to read one family of devices: which subtrees to walk, and how their values turn into
 * snapshot fields in base units. One folder per profile under profiles/, listed in profiles/index.ts.
 */
export interface SnmpProfile {
  /** As written in `?profile=`. */
  readonly name: string;
  readonly kind: DeviceKind;
  /** sysObjectID prefixes this profile is auto-detected from (most specific wins). */
  readonly sysObjectIds: readonly string[];
  /** Scalars to GET. */
  readonly gets?: readonly string[];
  /** Table columns or subtrees to walk; columns rather than whole tables, so a poll asks only for what is read. */
  readonly walks: readonly string[];
  read(data: SnmpData, system: SystemInfo): ProfileReading;
}

/** Wh → J. */
export const JOULES_PER_WH = 3600;
