/** Reading untrusted JSON from a web or v3 API: a nested object or a list of objects, else nothing. */
import type { Row } from './cgminer/dialects/fields.js';

export function objectAt(row: Row | undefined, key: string): Row | undefined {
  const v = row?.[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Row) : undefined;
}

export function rowsAt(row: Row | undefined, key: string): Row[] {
  const v = row?.[key];
  return Array.isArray(v) ? v.filter((r): r is Row => typeof r === 'object' && r !== null && !Array.isArray(r)) : [];
}
