/** Pieces of the Prometheus text exposition format 0.0.4. */

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NEEDS_LABEL_ESCAPE = /[\\"\n]/;

/** Escapes a label value: backslash, double quote and line feed are the only characters the format reserves. */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_LABEL_ESCAPE.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** Escapes HELP text: backslash and line feed (quotes are legal there). */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

const ZERO_PAD = ['000000000', '00000000', '0000000', '000000', '00000', '0000', '000', '00', '0', ''];

/**
 * A sample value as the format spells it: `NaN`, `+Inf`, `-Inf`, integers without a fraction,
 * other numbers in JavaScript's shortest round-trip form (which Go's ParseFloat reads back exactly).
 *
 * Integers take a fast path: V8 turns small integers into strings from a cache, while its
 * shortest-form conversion of a double like 140e12 is far dearer; over a farm's samples that difference
 * is most of the render budget (bench/README.md).
 */
export function formatValue(value: number): string {
  if ((value | 0) === value) return `${value | 0}`;
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isSafeInteger(value)) return formatLargeInteger(value);
  return `${value}`;
}

/** A safe integer beyond 32 bits, as two parts below 10^9 that each convert on the fast path. */
function formatLargeInteger(value: number): string {
  const negative = value < 0;
  const magnitude = negative ? -value : value;
  const high = Math.floor(magnitude / 1e9);
  const low = `${magnitude - high * 1e9}`;
  return (negative ? '-' : '') + formatValue(high) + ZERO_PAD[low.length] + low;
}

const INVALID_LABEL_CHARS = /[^a-zA-Z0-9_]/g;

/**
 * Turns an operator's label key into a legal Prometheus label name: invalid characters become `_`,
 * a leading digit gets a `_` in front, and the `__` prefix (reserved for Prometheus itself) gets `label`.
 */
export function sanitizeLabelName(key: string): string {
  let name = key.replace(INVALID_LABEL_CHARS, '_');
  if (name === '') return '_';
  if (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57) name = `_${name}`;
  if (name.startsWith('__')) name = `label${name}`;
  return name;
}

export type MetricType = 'gauge' | 'counter' | 'histogram' | 'summary' | 'untyped';

export function familyHeader(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}
