import { cgminerRequest } from './client.js';
import { DIALECTS, dialectFor } from './dialects/index.js';
import type { CgminerDialect } from './dialects/types.js';
import { CgminerError } from './errors.js';
import { parseCgminerJson } from './repair.js';
import { statusOf, toCgminerReply, type CgminerReply } from './reply.js';

export const BASE_COMMANDS = ['summary', 'stats', 'pools'] as const;

export interface PollOptions {
  host: string;
  port: number;
  /** Budget for the whole poll, fallback and extra commands included. */
  timeoutMs: number;
  signal?: AbortSignal;
  maxResponseBytes?: number;
  /**
   * What earlier polls of this endpoint learned; read and updated by each poll. Each round trip is a
   * TCP connect and close, the dearest part of a poll: with it, a firmware whose extras are known is
   * asked for them in the same join, and one known to refuse joins is not offered one.
   */
  memory?: EndpointMemory;
}

/** Kept by a collector between polls of one endpoint; forgotten on any failed poll (a reboot may mean a reflash). */
export interface EndpointMemory {
  /** The dialect the last poll identified. */
  dialect?: string;
  /** False once the endpoint refused or garbled `summary+stats+pools`. */
  joins?: boolean;
  /** The dialect's static commands as last answered, and how many polls ago. */
  staticReplies?: CgminerReply;
  staticAge?: number;
}

/** Static replies are asked afresh this often, so a swapped control board shows within a few polls' time. */
export const STATIC_REFRESH_POLLS = 20;

/**
 * Reads a miner: `summary+stats+pools` in one request (one connection, one turn of cgminer's
 * single-threaded API); if the firmware rejects the join or answers without those sections, the
 * three commands one connection each, in turn. Then whatever extra commands the identified dialect
 * asks for. Transport failures and unparseable replies reject with a CgminerError.
 */
export async function pollCgminer(opts: PollOptions): Promise<CgminerReply> {
  const deadline = Date.now() + opts.timeoutMs;
  const ask = async (command: string): Promise<CgminerReply> => {
    const timeoutMs = deadline - Date.now();
    if (timeoutMs <= 0) throw new CgminerError('timeout', `${opts.host}:${opts.port}: no time left for "${command}" within ${opts.timeoutMs} ms`);
    const text = await cgminerRequest({ host: opts.host, port: opts.port, command, timeoutMs, signal: opts.signal, maxResponseBytes: opts.maxResponseBytes });
    try {
      return toCgminerReply(parseCgminerJson(text).value, command);
    } catch (err) {
      if (err instanceof CgminerError) throw new CgminerError(err.reason, `${opts.host}:${opts.port} "${command}": ${err.message}`);
      throw err;
    }
  };

  const askJoined = async (commands: readonly string[], required: readonly string[] = commands): Promise<CgminerReply | undefined> => {
    try {
      const joined = await ask(commands.join('+'));
      return required.every((c) => joined[c] !== undefined) ? joined : undefined;
    } catch (err) {
      // A firmware that garbles the join may still answer single commands; anything else is final.
      if (!(err instanceof CgminerError && err.reason === 'malformed')) throw err;
      return undefined;
    }
  };
  const askEach = async (commands: readonly string[], into: CgminerReply): Promise<void> => {
    for (const command of commands) if (into[command] === undefined) Object.assign(into, await ask(command));
  };

  const memory = opts.memory;
  try {
    const { reply, dialect } = await askAll(memory, askJoined, askEach);
    if (memory) memory.dialect = dialect.name;
    return reply;
  } catch (err) {
    if (memory) {
      memory.dialect = undefined;
      memory.joins = undefined;
      memory.staticReplies = undefined;
    }
    throw err;
  }
}

type AskJoined = (commands: readonly string[], required?: readonly string[]) => Promise<CgminerReply | undefined>;
type AskEach = (commands: readonly string[], into: CgminerReply) => Promise<void>;

async function askAll(memory: EndpointMemory | undefined, askJoined: AskJoined, askEach: AskEach): Promise<{ reply: CgminerReply; dialect: CgminerDialect }> {
  // A firmware known from the last poll gets its extras in the base join: one round trip, not two.
  const known = memory?.joins === true ? knownDialect(memory.dialect) : undefined;
  const upfront = known && !known.needs ? (known.extraCommands ?? []) : [];
  let joins: CgminerReply | undefined;
  if (memory?.joins !== false) {
    joins = upfront.length ? await askJoined([...BASE_COMMANDS, ...upfront], BASE_COMMANDS) : undefined;
    // A join that grew too long for the firmware: the plain one decides, as on a first poll.
    joins ??= await askJoined(BASE_COMMANDS);
    if (memory) memory.joins = joins !== undefined;
  }
  // btminer (Whatsminer) rejects any joined command with STATUS E: then every command goes on its own,
  // leaving out what the firmware, once identified by its first reply, is known to refuse.
  const reply: CgminerReply = joins ?? {};
  if (!joins) {
    for (const command of BASE_COMMANDS) {
      if (Object.keys(reply).length > 0 && dialectFor(reply).optionalCommands?.includes(command)) continue;
      await askEach([command], reply);
    }
  }

  const dialect = dialectFor(reply);
  if (memory) reuseStaticReplies(memory, dialect, reply);
  const extra = (dialect.extraCommands ?? []).filter((c) => reply[c] === undefined && (dialect.needs?.(c, reply) ?? true));
  if (extra.length > 0) {
    if (joins && extra.length > 1) Object.assign(reply, await askJoined(extra));
    await askEach(extra, reply);
  }
  if (memory) keepStaticReplies(memory, dialect, reply);
  return { reply, dialect };
}

function reuseStaticReplies(memory: EndpointMemory, dialect: CgminerDialect, reply: CgminerReply): void {
  const age = (memory.staticAge ?? 0) + 1;
  memory.staticAge = age;
  if (!memory.staticReplies || memory.dialect !== dialect.name || age >= STATIC_REFRESH_POLLS) return;
  for (const command of dialect.staticCommands ?? []) {
    if (reply[command] === undefined && memory.staticReplies[command] !== undefined) reply[command] = memory.staticReplies[command];
  }
}

function keepStaticReplies(memory: EndpointMemory, dialect: CgminerDialect, reply: CgminerReply): void {
  if (!dialect.staticCommands?.length || (memory.staticReplies && memory.staticAge !== undefined && memory.staticAge < STATIC_REFRESH_POLLS && memory.dialect === dialect.name)) return;
  const kept: CgminerReply = {};
  for (const command of dialect.staticCommands) {
    const response = reply[command];
    if (response !== undefined && statusOf(response)?.ok !== false) kept[command] = response;
  }
  memory.staticReplies = kept;
  memory.staticAge = 0;
}

function knownDialect(name: string | undefined): CgminerDialect | undefined {
  return name === undefined ? undefined : DIALECTS.find((d) => d.name === name);
}
