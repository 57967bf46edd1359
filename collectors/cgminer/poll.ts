import { cgminerRequest } from './client.js';
import { dialectFor } from './dialects/index.js';
import { CgminerError } from './errors.js';
import { parseCgminerJson } from './repair.js';
import { toCgminerReply, type CgminerReply } from './reply.js';

export const BASE_COMMANDS = ['summary', 'stats', 'pools'] as const;

export interface PollOptions {
  host: string;
  port: number;
  /** Budget for the whole poll, fallback and extra commands included. */
  timeoutMs: number;
  signal?: AbortSignal;
  maxResponseBytes?: number;
}

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

  const askJoined = async (commands: readonly string[]): Promise<CgminerReply | undefined> => {
    try {
      const joined = await ask(commands.join('+'));
      return commands.every((c) => joined[c] !== undefined) ? joined : undefined;
    } catch (err) {
      // A firmware that garbles the join may still answer single commands; anything else is final.
      if (!(err instanceof CgminerError && err.reason === 'malformed')) throw err;
      return undefined;
    }
  };
  const askEach = async (commands: readonly string[], into: CgminerReply): Promise<void> => {
    for (const command of commands) if (into[command] === undefined) Object.assign(into, await ask(command));
  };

  // btminer (Whatsminer) rejects any joined command with STATUS E: then every command goes on its own,
  // leaving out what the firmware, once identified by its first reply, is known to refuse.
  const joins = await askJoined(BASE_COMMANDS);
  const reply: CgminerReply = joins ?? {};
  if (!joins) {
    for (const command of BASE_COMMANDS) {
      if (Object.keys(reply).length > 0 && dialectFor(reply).optionalCommands?.includes(command)) continue;
      await askEach([command], reply);
    }
  }

  const dialect = dialectFor(reply);
  const extra = (dialect.extraCommands ?? []).filter((c) => reply[c] === undefined && (dialect.needs?.(c, reply) ?? true));
  if (extra.length === 0) return reply;
  if (joins && extra.length > 1) Object.assign(reply, await askJoined(extra));
  await askEach(extra, reply);
  return reply;
}
