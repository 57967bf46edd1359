import { CgminerError } from './errors.js';

/** What was wrong with a reply and had to be fixed before it parsed. */
export type Repair =
  | 'missing comma between objects'
  | 'leading comma'
  | 'trailing comma'
  | 'bare nan/inf'
  | 'illegal escape'
  | 'raw control character';

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
  try {
    return { value: JSON.parse(text), repairs: [] };
  } catch {
    // fall through to repair
  }
  if (text.length === 0) throw new CgminerError('malformed', 'empty reply');
  if (/^(STATUS|CMD)=/.test(text)) {
    throw new CgminerError('malformed', `reply is in cgminer's text format, not JSON: "${excerpt(text, 0)}"`);
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

const VALID_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u']);
const BARE_NUMBER_WORDS = /^-?(nan|inf|infinity)\b/i;

/** One pass that tracks strings, so nothing inside a string value is mistaken for structure. */
function repairJson(text: string): { text: string; repairs: Repair[] } {
  const out: string[] = [];
  const repairs = new Set<Repair>();
  let inString = false;
  let i = 0;
  const nextSignificant = (from: number): number => {
    let j = from;
    while (j < text.length && /\s/.test(text[j]!)) j++;
    return j;
  };
  while (i < text.length) {
    const ch = text[i]!;
    const code = text.charCodeAt(i);
    if (inString) {
      if (ch === '\\') {
        const next = text[i + 1];
        if (next !== undefined && VALID_ESCAPES.has(next)) {
          out.push(ch, next);
        } else {
          repairs.add('illegal escape');
          if (next !== undefined) out.push(next);
        }
        i += 2;
        continue;
      }
      if (ch === '"') inString = false;
      if (code < 0x20) {
        repairs.add('raw control character');
        out.push(`\\u${code.toString(16).padStart(4, '0')}`);
      } else out.push(ch);
      i++;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out.push(ch);
      i++;
      continue;
    }
    if (ch === '}') {
      out.push(ch);
      const j = nextSignificant(i + 1);
      if (text[j] === '{') {
        repairs.add('missing comma between objects');
        out.push(',');
      }
      i++;
      continue;
    }
    if (ch === '[') {
      out.push(ch);
      const j = nextSignificant(i + 1);
      if (text[j] === ',') {
        repairs.add('leading comma');
        i = j + 1;
      } else i++;
      continue;
    }
    if (ch === ',') {
      const j = nextSignificant(i + 1);
      if (text[j] === '}' || text[j] === ']') {
        repairs.add('trailing comma');
        i = j;
        continue;
      }
      out.push(ch);
      i++;
      continue;
    }
    if (ch === 'n' || ch === 'N' || ch === 'i' || ch === 'I' || ch === '-') {
      const word = BARE_NUMBER_WORDS.exec(text.slice(i, i + 10));
      if (word) {
        repairs.add('bare nan/inf');
        out.push('null');
        i += word[0].length;
        continue;
      }
    }
    out.push(ch);
    i++;
  }
  return { text: out.join(''), repairs: [...repairs] };
}
