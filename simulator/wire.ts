/**
 * CGMiner API framing shared by every dialect: request parsing, `a+b` joined commands, the error
 * replies and the trailing NUL, byte for byte as upstream cgminer 4.x writes them (see the
 * cgminer-4.11.1-local_nohw_* captures). A dialect only supplies the body of each command's reply.
 */
import type { MinerReading } from './physics.js';

export interface Dialect<Name extends string = string> {
  /** The collector dialect that reads it, e.g. `antminer`. */
  readonly name: Name;
  /** The `Description` field of STATUS blocks, e.g. "cgminer 1.0.0". */
  description(reading: MinerReading): string;
  /** The full reply object text for one command, without NUL; undefined for a command it does not know. */
  reply(command: string, reading: MinerReading): string | undefined;
  /** For firmware that frames replies unlike cgminer (btminer's errors, bosminer's newline): the whole reply. */
  respond?(request: { command?: unknown } | 'invalid', reading: MinerReading): string;
}

/** A number printed with fixed decimals, as cgminer's `%.Nf` does (JSON.stringify would drop the zeros). */
export function fixed(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

/** A JSON string literal. */
export function str(value: string): string {
  return JSON.stringify(value);
}

export function statusBlock(kind: 'S' | 'E' | 'W' | 'I', when: number, code: number, msg: string, description?: string): string {
  const desc = description === undefined ? '' : `,"Description":${str(description)}`;
  return `{"STATUS":"${kind}","When":${when},"Code":${code},"Msg":${str(msg)}${desc}}`;
}

/** cgminer answers an unknown command without a Description (unlike its other errors). */
function invalidCommand(when: number): string {
  return `{"STATUS":[${statusBlock('E', when, 14, 'Invalid command')}],"id":1}`;
}

function invalidJson(when: number, description: string): string {
  return `{"STATUS":[${statusBlock('E', when, 23, 'Invalid JSON', description)}],"id":1}`;
}

function missingCommand(when: number, description: string): string {
  return `{"STATUS":[${statusBlock('E', when, 24, "Missing JSON 'command'", description)}],"id":1}`;
}

/** Parses a JSON request; undefined while it is still incomplete (more bytes may come). */
export function parseRequest(text: string): { command?: unknown } | 'invalid' | undefined {
  const trimmed = text.replace(/\0+$/, '').trim();
  if (!trimmed.startsWith('{')) return 'invalid';
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as { command?: unknown }) : 'invalid';
  } catch {
    return undefined;
  }
}

/**
 * The reply text (NUL-terminated) to a complete request. Joined commands give
 * `{"summary":[{…}],"stats":[{…}],"id":1}`, each inner reply whole, its own STATUS included.
 * Text-mode (non-JSON) requests are not simulated: they get the Invalid JSON error.
 */
export function respond(dialect: Dialect, request: { command?: unknown } | 'invalid', reading: MinerReading): string {
  if (dialect.respond) return dialect.respond(request, reading);
  const when = reading.when;
  if (request === 'invalid') return `${invalidJson(when, dialect.description(reading))}\0`;
  if (request.command === undefined) return `${missingCommand(when, dialect.description(reading))}\0`;
  if (typeof request.command !== 'string') return `${invalidCommand(when)}\0`;
  const commands = request.command.split('+');
  if (commands.length === 1) return `${dialect.reply(request.command, reading) ?? invalidCommand(when)}\0`;
  return joinedReply(commands, (c) => dialect.reply(c, reading) ?? invalidCommand(when));
}

/** cgminer's answer to `a+b`: `{"a":[{…}],"b":[{…}],"id":1}`, NUL-terminated, each part whole. */
export function joinedReply(commands: readonly string[], replyTo: (command: string) => string): string {
  return `{${commands.map((c) => `${str(c)}:[${replyTo(c)}]`).join(',')},"id":1}\0`;
}
