import type { OutletSnapshot, PhaseSnapshot } from '../../../agent/snapshot.js';

/** Rounds away float noise from scaling (0.1 × 3 = 0.30000000000000004) without losing real precision. */
export function clean(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** value × scale, or undefined when the device did not report it. */
export function scaled(value: number | undefined, scale: number): number | undefined {
  return value === undefined ? undefined : clean(value * scale);
}

/** Keeps only the keys whose value is defined, so an absent reading stays absent in JSON. */
export function defined<T extends object>(record: T): T {
  for (const key of Object.keys(record) as (keyof T)[]) if (record[key] === undefined) delete record[key];
  return record;
}

export function sumOf(values: Iterable<number>): number | undefined {
  let sum: number | undefined;
  for (const v of values) sum = (sum ?? 0) + v;
  return sum === undefined ? undefined : clean(sum);
}

/** Last OID component of a row index: `1.1.3` → 3. */
export function lastIndex(index: string): number {
  return Number(index.slice(index.lastIndexOf('.') + 1));
}

export function byIndex<T extends OutletSnapshot | PhaseSnapshot>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => a.index - b.index);
}

/** Names a row after a label column's text, when it has one. */
export function labelled<T extends { name?: string }>(row: T, label: unknown): T {
  if (label !== undefined && String(label) !== '') row.name = String(label);
  return row;
}

/**
 * Rows of one SNMP table (outlets, phases) gathered column by column: `row(id)` makes the row on first
 * sight, `list()` gives them by index, or undefined when the table had no rows.
 */
export class RowTable<T extends OutletSnapshot | PhaseSnapshot> {
  readonly #rows = new Map<string, T>();
  constructor(private readonly make: (row: string) => T) {}

  row(id: string): T {
    let r = this.#rows.get(id);
    if (!r) {
      r = this.make(id);
      this.#rows.set(id, r);
    }
    return r;
  }

  list(): T[] | undefined {
    return this.#rows.size ? byIndex(this.#rows.values()) : undefined;
  }
}

/** Records non-empty: undefined when nothing was read, so the snapshot key stays absent. */
export function nonEmpty<V>(record: Record<string, V>): Record<string, V> | undefined {
  return Object.keys(record).length > 0 ? record : undefined;
}

/** The first non-empty text in a column (ident tables have one row per PDU in a chain). */
export function firstText(column: Map<string, unknown>): string | undefined {
  for (const v of column.values()) if (String(v).trim() !== '') return String(v).trim();
  return undefined;
}
