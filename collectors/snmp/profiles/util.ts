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

/** Records non-empty: undefined when nothing was read, so the snapshot key stays absent. */
export function nonEmpty<V>(record: Record<string, V>): Record<string, V> | undefined {
  return Object.keys(record).length > 0 ? record : undefined;
}

/** The first non-empty text in a column (ident tables have one row per PDU in a chain). */
export function firstText(column: Map<string, unknown>): string | undefined {
  for (const v of column.values()) if (String(v).trim() !== '') return String(v).trim();
  return undefined;
}
