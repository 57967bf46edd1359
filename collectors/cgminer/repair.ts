import { CgminerError } from './errors.js';

/** What was wrong with a reply and had to be fixed before it parsed. */
export type Repair = 'missing comma between objects' | 'leading comma' | 'trailing comma' | 'bare nan/inf' | 'illegal escape' | 'raw control character';

export interface ParsedReply {
  value: unknown;
  /** Empty when the reply was valid JSON. */
  repairs: Repair[];
}

const EXCERPT_RADIUS = 24;

/**
 * Parses a CGMiner API reply. Plain JSON.parse first (the common case costs nothing extra); only a
 * reply that fails is repaired for the faults real firmware sends: `}{` between objects (Antminer
 * `stats`), `[,{`, `,}` / `,]`, bare `nan` / `inf` / `-inf`, the illegal `\'` escape (Whatsminer)
 * and raw control characters inside strings. What still does not parse throws a CgminerError
 * (`malformed`) quoting the position and the text around it.
 */
export function parseCgminerJson(raw: string): ParsedReply {
  const text = trimReply(raw);
  // Antminer stats always carry `}{`; a JSON.parse that is bound to throw costs more than the check.
  if (!text.includes('}{')) {
    try {
      return { value: JSON.parse(text), repairs: [] };
    } catch {
      // fall through to repair
    }
  }
  if (text.length === 0) throw new CgminerError('malformed', 'empty reply');
  if (/^(STATUS|CMD)=/.test(text)) {
    throw new CgminerError('malformed', `reply is in cgminer's text format, not JSON: "${excerpt(text, 0)}"`);
  }
  const quick = insertCommasBetweenObjects(text) ?? dropQuoteEscapes(text);
  if (quick !== undefined) {
    try {
      return { value: JSON.parse(quick.text), repairs: [quick.repair] };
    } catch {
      // another fault beside the common one: the full repair below starts again from the original text
    }
  }
  const { text: repaired, repairs } = repairJson(text);
  try {
    return { value: JSON.parse(repaired), repairs };
  } catch (err) {
    const position = errorPosition(err, repaired.length);
    const fixed = repairs.length ? ` after repairing ${repairs.join(', ')}` : '';
    throw new CgminerError(
      'malformed',
      `reply is not valid JSON${fixed}: ${(err as Error).message.split('\n')[0]} (at ${position} of ${repaired.length} chars: "${excerpt(repaired, position)}")`,
    );
  }
}

/** Drops the NUL terminator and surrounding whitespace. */
function trimReply(raw: string): string {
  let end = raw.length;
  while (end > 0) {
    const c = raw.charCodeAt(end - 1);
    if (c === 0 || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) end--;
    else break;
  }
  let start = 0;
  while (start < end && /\s/.test(raw[start]!)) start++;
  return raw.slice(start, end);
}

function errorPosition(err: unknown, length: number): number {
  const message = (err as Error).message;
  const m = /position (\d+)/.exec(message);
  if (m) return Number(m[1]);
  // V8 gives no position when the very first token is wrong ("Unexpected token 'H', "HTTP/1.1"...").
  return /end of JSON/.test(message) ? length : 0;
}

function excerpt(text: string, position: number): string {
  const from = Math.max(0, position - EXCERPT_RADIUS);
  const to = Math.min(text.length, position + EXCERPT_RADIUS);
  return (from > 0 ? '…' : '') + JSON.stringify(text.slice(from, to)).slice(1, -1) + (to < text.length ? '…' : '');
}

/**
 * The common fault alone, cheaply: `}{` (bmminer's `stats`) gets its comma where it stands outside a
 * string. Without a backslash in the text every `"` toggles in/out of a string, so counting quotes
 * from `indexOf` hop to hop tells exactly which `}{` are structure. Undefined when there is a
 * backslash (escapes make the count unreliable) or no `}{` outside strings: the full scan decides.
 */
function insertCommasBetweenObjects(text: string): { text: string; repair: Repair } | undefined {
  if (text.indexOf('\\') !== -1) return undefined;
  let out = '';
  let copiedTo = 0;
  let quotes = 0;
  let counted = 0;
  for (let at = text.indexOf('}{'); at !== -1; at = text.indexOf('}{', at + 2)) {
    for (let q = text.indexOf('"', counted); q !== -1 && q < at; q = text.indexOf('"', q + 1)) {
      quotes++;
      counted = q + 1;
    }
    if (counted < at) counted = at;
    if (quotes % 2 === 1) continue;
    out += `${text.slice(copiedTo, at + 1)},`;
    copiedTo = at + 1;
  }
  return copiedTo === 0 ? undefined : { text: out + text.slice(copiedTo), repair: 'missing comma between objects' };
}

/** A backslash pair: `\\` is kept whole, so the `'` after an escaped backslash is not taken for `\'`. */
const BACKSLASH_PAIR = /\\[\\']/g;

/**
 * btminer's fault alone, cheaply: the illegal `\'` escape (its quoted firmware version) becomes `'`.
 * A backslash only ever stands inside a string, so no scan of the structure is needed.
 */
function dropQuoteEscapes(text: string): { text: string; repair: Repair } | undefined {
  if (!text.includes("\\'")) return undefined;
  return { text: text.replace(BACKSLASH_PAIR, (pair) => (pair === "\\'" ? "'" : pair)), repair: 'illegal escape' };
}

const VALID_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u']);
const BARE_NUMBER_WORDS = /^-?(nan|inf|infinity)\b/i;

/** Inside a string only these matter; outside, only these can start a fault. */
const STRING_SPECIAL = /["\\\x00-\x1f]/g;
const STRUCTURE_SPECIAL = /["}[,nNiI-]/g;

/**
 * One pass that tracks strings, so nothing inside a string value is mistaken for structure. Unchanged
 * runs are copied as slices: the scan jumps from one character that matters to the next.
 */
function repairJson(text: string): { text: string; repairs: Repair[] } {
  const repairs = new Set<Repair>();
  let out = '';
  let copiedTo = 0;
  const replace = (from: number, to: number, replacement: string, repair: Repair) => {
    out += text.slice(copiedTo, from) + replacement;
    copiedTo = to;
    repairs.add(repair);
  };
  const nextSignificant = (from: number): number => {
    let j = from;
    while (j < text.length && text.charCodeAt(j) <= 0x20) j++;
    return j;
  };
  let inString = false;
  let i = 0;
  while (i < text.length) {
    const finder = inString ? STRING_SPECIAL : STRUCTURE_SPECIAL;
    finder.lastIndex = i;
    const hit = finder.exec(text);
    if (!hit) break;
    i = hit.index;
    const ch = text[i]!;
    if (inString) {
      if (ch === '"') inString = false;
      else if (ch === '\\') {
        const next = text[i + 1];
        if (next === undefined || !VALID_ESCAPES.has(next)) {
          replace(i, i + 1, '', 'illegal escape');
        }
        i += 2;
        continue;
      } else replace(i, i + 1, `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`, 'raw control character');
      i++;
      continue;
    }
    switch (ch) {
      case '"':
        inString = true;
        break;
      case '}':
        if (text[nextSignificant(i + 1)] === '{') replace(i + 1, i + 1, ',', 'missing comma between objects');
        break;
      case '[': {
        const j = nextSignificant(i + 1);
        if (text[j] === ',') replace(j, j + 1, '', 'leading comma');
        break;
      }
      case ',': {
        const j = nextSignificant(i + 1);
        if (text[j] === '}' || text[j] === ']') replace(i, i + 1, '', 'trailing comma');
        break;
      }
      default: {
        const word = BARE_NUMBER_WORDS.exec(text.slice(i, i + 10));
        if (word) {
          replace(i, i + word[0].length, 'null', 'bare nan/inf');
          i += word[0].length;
          continue;
        }
      }
    }
    i++;
  }
  return { text: out + text.slice(copiedTo), repairs: [...repairs] };
}
